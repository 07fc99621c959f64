"""Writes of notifications: channels and silences of a team (keyword-only arguments, each one
transaction, bad input refused before anything changes), the deliveries an alert transition
creates, and the outcome of each delivery attempt."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from clusters.models import Account, Cluster, Team, TeamGrant
from notifications import rules, webhook
from notifications.models import (
    ChannelKind,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    NotificationChannel,
    Silence,
    Transition,
)
from notifications.rules import InvalidInput

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 3600.0


# -- channels and silences ---------------------------------------------------------------------


def add_channel(*, team: Team, kind: str, name: str, url: str = "", account_id=None, subject: str = "",
                on_fire: bool = True, on_resolve: bool = True, enabled: bool = True) -> NotificationChannel:
    name = (name or "").strip()
    if not name:
        raise InvalidInput("give the channel a name")
    if len(name) > 100:
        raise InvalidInput("the channel name is longer than 100 characters")
    if not on_fire and not on_resolve:
        raise InvalidInput("choose at least one of: on fire, on resolve")
    fields = {"team": team, "kind": kind, "name": name, "on_fire": on_fire, "on_resolve": on_resolve,
              "enabled": enabled}
    if kind == ChannelKind.WEBHOOK:
        fields["url"] = rules.validate_webhook_url(url)
    elif kind == ChannelKind.NATS:
        account = granted_account(team, account_id)
        fields["subject"] = rules.validate_channel_subject(subject)
        fields["account"] = account
    else:
        raise InvalidInput("the kind must be webhook or nats")
    with transaction.atomic():
        if NotificationChannel.objects.filter(team=team, name=name).exists():
            raise InvalidInput(f"team {team.name} already has a channel named {name!r}")
        return NotificationChannel.objects.create(**fields)


def granted_account(team: Team, account_id) -> Account:
    """One of the accounts the team holds a grant on; a NATS channel may publish only there."""
    try:
        account_pk = int(account_id)
    except (TypeError, ValueError):
        raise InvalidInput("choose one of the team's accounts for the NATS channel") from None
    account = Account.objects.select_related("cluster").filter(pk=account_pk, grants__team=team).first()
    if account is None:
        raise InvalidInput(f"team {team.name} holds no grant on that account")
    return account


def delete_channel(*, team: Team, channel_id: int) -> str:
    channel = NotificationChannel.objects.filter(team=team, pk=channel_id).first()
    if channel is None:
        raise InvalidInput("no such channel in this team")
    name = channel.name
    channel.delete()
    return name


def add_silence(*, team: Team, user, cluster_name: str = "", account: str = "", check: str = "",
                duration: str = "", ends_at: str = "", reason: str = "") -> Silence:
    cluster_name, account, check = (cluster_name or "").strip(), (account or "").strip(), (check or "").strip()
    end = rules.silence_end(duration=duration, ends_at=ends_at, now=timezone.now())
    grants = TeamGrant.objects.filter(team=team)
    cluster = None
    if cluster_name:
        cluster = Cluster.objects.filter(name=cluster_name, accounts__grants__team=team).distinct().first()
        if cluster is None:
            raise InvalidInput(f"team {team.name} holds no grant on a cluster named {cluster_name!r}")
    if account:
        if cluster is None:
            raise InvalidInput("an account silence needs its cluster")
        if not grants.filter(account__cluster=cluster, account__name=account).exists():
            raise InvalidInput(f"team {team.name} holds no grant on account {account!r} of {cluster.name}")
    check = rules.validate_silence_check(check)
    reason = (reason or "").strip()
    if len(reason) > 500:
        raise InvalidInput("the reason is longer than 500 characters")
    return Silence.objects.create(team=team, cluster=cluster, account=account, check_name=check, ends_at=end,
                                  reason=reason, created_by=user if user.is_authenticated else None)


def delete_silence(*, team: Team, silence_id: int) -> None:
    deleted, _ = Silence.objects.filter(team=team, pk=silence_id).delete()
    if not deleted:
        raise InvalidInput("no such silence in this team")


# -- alert transitions -> deliveries -----------------------------------------------------------


def notify(*, alert, transition: str) -> list[Delivery]:
    """One delivery per enabled channel of every team told about the alert, unless the team silenced
    it; each is sent by a Celery task once this transaction commits. Sending the same transition
    twice creates nothing new."""
    from notifications import tasks

    now = timezone.now()
    transition_at = (alert.fired_at if transition == Transition.FIRED else alert.resolved_at) or now
    account = alert.account or ""
    cluster = alert.cluster
    check = alert.check_name
    grants_by_team: dict[int, set[tuple[int, str]]] = {}
    for team_id, cluster_id, account_name in TeamGrant.objects.filter(account__cluster=cluster).values_list(
            "team_id", "account__cluster_id", "account__name"):
        grants_by_team.setdefault(team_id, set()).add((cluster_id, account_name))
    told = [team_id for team_id, grants in grants_by_team.items()
            if rules.team_is_told(cluster_id=cluster.pk, account=account, grants=grants)]
    if not told:
        return []
    silences: dict[int, list[rules.SilenceMatch]] = {}
    for silence in Silence.objects.filter(team_id__in=told, ends_at__gt=now):
        silences.setdefault(silence.team_id, []).append(rules.SilenceMatch(
            cluster_id=silence.cluster_id, account=silence.account, check=silence.check_name, ends_at=silence.ends_at))
    flag = {"on_fire": True} if transition == Transition.FIRED else {"on_resolve": True}
    channels = NotificationChannel.objects.filter(team_id__in=told, enabled=True, **flag).select_related("team")
    # A NATS channel publishes with natsdash's credentials: only while its team holds that account.
    held = set(TeamGrant.objects.filter(team_id__in=told).values_list("team_id", "account_id"))
    body = rules.alert_body(alert, transition=transition, cluster=cluster.name, link=alert_link(cluster))
    created = []
    with transaction.atomic():
        for channel in channels:
            if channel.kind == ChannelKind.NATS and (channel.team_id, channel.account_id) not in held:
                log.warning("alert %s %s: channel %s of team %s skipped, the team no longer holds a grant on its "
                            "account", alert.pk, transition, channel.name, channel.team.name)
                continue
            if any(rules.silenced(s, cluster_id=cluster.pk, account=account, check=check, now=now)
                   for s in silences.get(channel.team_id, [])):
                log.info("alert %s %s: silenced for team %s", alert.pk, transition, channel.team.name)
                continue
            try:
                with transaction.atomic():
                    delivery = Delivery.objects.create(
                        team=channel.team, channel=channel, channel_name=channel.name, alert_id=alert.pk,
                        cluster=cluster, account=account, check_name=check, transition=transition,
                        transition_at=transition_at, payload=body)
            except IntegrityError:
                continue  # this transition was already handed to this channel
            created.append(delivery)
        for delivery in created:
            transaction.on_commit(lambda pk=delivery.pk: tasks.deliver.delay(pk))
    return created


def alert_link(cluster: Cluster) -> str:
    """The cluster's health page (its checks and alerts), or its page where there is none."""
    try:
        path = reverse("cluster-health", args=[cluster.name])
    except NoReverseMatch:
        path = reverse("cluster", args=[cluster.name])
    return settings.NOTIFY_BASE_URL.rstrip("/") + path


# -- one attempt --------------------------------------------------------------------------------


def attempt_delivery(*, delivery_id: int) -> float | None:
    """Send a delivery once and log the attempt. Returns the seconds to wait before the next
    attempt, or None when it is done (delivered, failed for good, or already finished)."""
    delivery = Delivery.objects.select_related("channel", "channel__account", "channel__account__cluster").filter(
        pk=delivery_id).first()
    if delivery is None or delivery.finished:
        return None
    channel = delivery.channel
    number = delivery.attempts + 1
    body = {**delivery.payload, "delivery": delivery.pk, "attempt": number}
    ok, code, error, retry, elapsed_ms = False, None, "", False, None
    refused = _refused(channel) if channel is not None else "the channel was deleted"
    if refused:
        error = refused
    elif channel.kind == ChannelKind.WEBHOOK:
        try:
            response = webhook.post_json(channel.url, body, timeout=settings.NOTIFY_TIMEOUT, delivery_id=delivery.pk)
        except webhook.WebhookError as exc:
            error, retry = str(exc), True
        else:
            ok, code, elapsed_ms = response.ok, response.status_code, response.elapsed_ms
            if not ok:
                # Only the status: the body of whatever answered is not stored or shown.
                error = f"HTTP {code}"
                retry = rules.retryable(status_code=code)
    else:
        ok, error, retry, elapsed_ms = _publish(channel, body)

    retry_in = None
    if not ok and retry and number < settings.NOTIFY_MAX_ATTEMPTS:
        retry_in = rules.backoff_seconds(number, base=settings.NOTIFY_RETRY_BACKOFF, cap=MAX_BACKOFF_SECONDS)
    now = timezone.now()
    with transaction.atomic():
        DeliveryAttempt.objects.create(delivery=delivery, number=number, at=now, ok=ok, response_code=code,
                                       error=error[:2000], duration_ms=elapsed_ms, retry_in=retry_in)
        delivery.attempts = number
        delivery.response_code = code
        delivery.last_error = error[:2000]
        if ok:
            delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED, now
        else:
            delivery.status = DeliveryStatus.RETRYING if retry_in is not None else DeliveryStatus.FAILED
        delivery.save(update_fields=["attempts", "response_code", "last_error", "status", "delivered_at"])
    where = channel.destination if channel else delivery.channel_name
    if ok:
        log.info("delivery %s (%s of alert %s) to %s: sent on attempt %s", delivery.pk, delivery.transition,
                 delivery.alert_id, where, number)
    else:
        log.warning("delivery %s (%s of alert %s) to %s: attempt %s failed (%s)%s", delivery.pk,
                    delivery.transition, delivery.alert_id, where, number, error,
                    f"; next in {retry_in:g}s" if retry_in is not None else "; giving up")
    return retry_in


def _refused(channel: NotificationChannel) -> str:
    """Why a channel may not be sent to now (its rules are checked again: it may predate them, come
    from the admin, or its team may have lost the account), or ""."""
    try:
        if channel.kind == ChannelKind.WEBHOOK:
            rules.validate_webhook_url(channel.url)
            return ""
        rules.validate_channel_subject(channel.subject)
    except InvalidInput as error:
        return str(error)
    if not TeamGrant.objects.filter(team_id=channel.team_id, account_id=channel.account_id).exists():
        return f"the team no longer holds a grant on {channel.account}"
    return ""


def _publish(channel: NotificationChannel, body: dict) -> tuple[bool, str, bool, float | None]:
    """Publish to the channel's subject with natsdash's credentials for its account:
    (ok, error, retryable, milliseconds)."""
    import time

    from streams import jetstream
    from streams import services as stream_services

    data = json.dumps(body, separators=(",", ":")).encode()
    started = time.monotonic()

    async def work(nc):
        await jetstream.publish(nc, channel.subject, data, headers={"Content-Type": "application/json"},
                                to_stream=False, timeout=settings.NOTIFY_TIMEOUT)

    try:
        stream_services.run(channel.account, work)
    except jetstream.BadRequest as exc:
        return False, str(exc), False, None
    except jetstream.JetStreamError as exc:
        return False, str(exc), True, None
    return True, "", False, round((time.monotonic() - started) * 1000, 1)


# -- history ------------------------------------------------------------------------------------


def prune_history(*, now=None) -> dict[str, int]:
    """Drop deliveries (with their attempts) created more than ALERT_HISTORY_DAYS ago and silences
    that ended that long ago; called by the retention task."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.ALERT_HISTORY_DAYS)
    with transaction.atomic():
        attempts, _ = DeliveryAttempt.objects.filter(delivery__created_at__lt=cutoff).delete()
        deliveries, _ = Delivery.objects.filter(created_at__lt=cutoff).delete()
        silences, _ = Silence.objects.filter(ends_at__lt=cutoff).delete()
    return {"deliveries": deliveries, "attempts": attempts, "silences": silences}
