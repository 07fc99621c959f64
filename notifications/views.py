"""A team's notification settings: channels, silences and the delivery log. Viewers of the team
see them read-only; changing them needs the team's operator role (403); others get 404."""

from django.contrib import messages as flash
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from notifications import selectors, services
from notifications.models import ChannelKind
from notifications.rules import CHECK_FAMILIES, CHECK_NAMES, InvalidInput


@require_GET
def team_notifications(request, team):
    team_obj, can_manage = selectors.team_for(request.user, team)
    return _page(request, team_obj, can_manage)


def _page(request, team, can_manage, *, error: str = "", form: str = "", values=None, status: int = 200):
    active, ended = selectors.silences_of(team)
    return render(request, "notifications/team.html", {
        "team": team, "can_manage": can_manage, "channels": selectors.channels_of(team),
        "accounts": selectors.granted_accounts(team), "clusters": sorted({a.cluster.name for a in
                                                                          selectors.granted_accounts(team)}),
        "active_silences": active, "ended_silences": ended, "deliveries": selectors.deliveries_of(team),
        "kinds": ChannelKind.choices, "check_names": sorted(CHECK_NAMES), "check_families": sorted(CHECK_FAMILIES),
        "error": error, "error_form": form, "values": values or {},
    }, status=status)


def _managed_team(request, team):
    team_obj, can_manage = selectors.team_for(request.user, team)
    if not can_manage:
        raise PermissionDenied(f"the operator role in team {team_obj.name} is needed for this")
    return team_obj


@require_POST
def channel_add(request, team):
    team_obj = _managed_team(request, team)
    post = request.POST
    try:
        channel = services.add_channel(
            team=team_obj, kind=post.get("kind", ""), name=post.get("name", ""), url=post.get("url", ""),
            account_id=post.get("account"), subject=post.get("subject", ""),
            on_fire=post.get("on_fire") == "on", on_resolve=post.get("on_resolve") == "on")
    except InvalidInput as error:
        return _page(request, team_obj, True, error=str(error), form="channel",
                     values={k: v for k, v in post.items() if k not in ("csrfmiddlewaretoken", "url")}, status=400)
    flash.success(request, f"Channel {channel.name} added.")
    return redirect("team-notifications", team=team_obj.name)


@require_POST
def channel_delete(request, team, pk):
    team_obj = _managed_team(request, team)
    try:
        name = services.delete_channel(team=team_obj, channel_id=pk)
    except InvalidInput as error:
        return _page(request, team_obj, True, error=str(error), form="channel", status=400)
    flash.success(request, f"Channel {name} removed.")
    return redirect("team-notifications", team=team_obj.name)


@require_POST
def silence_add(request, team):
    team_obj = _managed_team(request, team)
    post = request.POST
    try:
        silence = services.add_silence(
            team=team_obj, user=request.user, cluster_name=post.get("cluster", ""), account=post.get("account", ""),
            check=post.get("check", ""), duration=post.get("duration", ""), ends_at=post.get("ends_at", ""),
            reason=post.get("reason", ""))
    except InvalidInput as error:
        return _page(request, team_obj, True, error=str(error), form="silence",
                     values={k: v for k, v in post.items() if k != "csrfmiddlewaretoken"}, status=400)
    flash.success(request, f"Silenced until {silence.ends_at:%Y-%m-%d %H:%M} UTC.")
    return redirect("team-notifications", team=team_obj.name)


@require_POST
def silence_delete(request, team, pk):
    team_obj = _managed_team(request, team)
    try:
        services.delete_silence(team=team_obj, silence_id=pk)
    except InvalidInput as error:
        return _page(request, team_obj, True, error=str(error), form="silence", status=400)
    flash.success(request, "Silence removed.")
    return redirect("team-notifications", team=team_obj.name)
