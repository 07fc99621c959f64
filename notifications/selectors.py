"""Reads of a team's notifications. Superusers and the team's operators manage them, its viewers
read them, anyone else gets a 404."""

from __future__ import annotations

from django.http import Http404
from django.utils import timezone

from clusters.models import Account, Membership, Role, Team
from notifications.models import Delivery, NotificationChannel, Silence


def team_for(user, team_name: str) -> tuple[Team, bool]:
    """The team and whether the user may change its notifications; Http404 for non-members."""
    team = Team.objects.filter(name=team_name).first()
    if team is None or not user.is_authenticated:
        raise Http404("No such team")
    if user.is_superuser:
        return team, True
    role = Membership.objects.filter(team=team, user=user).values_list("role", flat=True).first()
    if role is None:
        raise Http404("No such team")
    return team, role == Role.OPERATOR


def granted_accounts(team: Team):
    return Account.objects.filter(grants__team=team).select_related("cluster").order_by("cluster__name", "name")


def channels_of(team: Team):
    return NotificationChannel.objects.filter(team=team).select_related("account", "account__cluster")


def silences_of(team: Team) -> tuple[list[Silence], list[Silence]]:
    """(active, ended in the last week) silences."""
    now = timezone.now()
    silences = Silence.objects.filter(team=team, ends_at__gt=now - timezone.timedelta(days=7)).select_related(
        "cluster", "created_by")
    active = sorted((s for s in silences if s.ends_at > now), key=lambda s: s.ends_at)
    ended = [s for s in silences if s.ends_at <= now]
    return active, ended


def deliveries_of(team: Team, limit: int = 100) -> list[Delivery]:
    return list(Delivery.objects.filter(team=team).select_related("cluster").prefetch_related("attempt_log")[:limit])
