"""Team management for superusers: teams, the accounts granted to them, their members and roles.
Everyone else gets a 404, as for a page that does not exist."""

from django.contrib import messages
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clusters import teams
from clusters.forms import GrantForm, MemberForm, TeamForm
from clusters.models import Membership, Team, TeamGrant
from clusters.views import superuser_required


@superuser_required
@require_http_methods(["GET", "POST"])
def team_list(request):
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        team = teams.create_team(by=request.user, name=form.cleaned_data["name"])
        messages.success(request, f"Created team {team.name}; now grant it accounts and add members.")
        return redirect("team", team=team.name)
    rows = Team.objects.annotate(grant_count=Count("grants", distinct=True),
                                 member_count=Count("memberships", distinct=True))
    return render(request, "clusters/teams.html", {"teams": rows, "form": form})


def _team_page(request, team: Team, *, grant_form=None, member_form=None, status: int = 200):
    return render(request, "clusters/team.html", {
        "team": team,
        "grants": team.grants.select_related("account__cluster").order_by("account__cluster__name", "account__name"),
        "members": team.memberships.select_related("user").order_by("user__username"),
        "grant_form": grant_form or GrantForm(),
        "member_form": member_form or MemberForm(),
    }, status=status)


@superuser_required
@require_GET
def team_detail(request, team):
    return _team_page(request, get_object_or_404(Team, name=team))


@superuser_required
@require_POST
def team_delete(request, team):
    team = get_object_or_404(Team, name=team)
    if request.POST.get("confirm") != team.name:
        messages.error(request, f"Not deleted: type the team's name, {team.name}, to confirm.")
        return redirect("team", team=team.name)
    teams.delete_team(by=request.user, team=team)
    messages.success(request, f"Deleted team {team.name}.")
    return redirect("teams")


@superuser_required
@require_POST
def grant_add(request, team):
    team = get_object_or_404(Team, name=team)
    form = GrantForm(request.POST)
    if not form.is_valid():
        return _team_page(request, team, grant_form=form, status=400)
    account = form.cleaned_data["account"]
    teams.grant_account(by=request.user, team=team, account=account)
    messages.success(request, f"{team.name} now sees {account.cluster.name} / {account.name}.")
    return redirect("team", team=team.name)


@superuser_required
@require_POST
def grant_delete(request, team, pk):
    grant = get_object_or_404(TeamGrant.objects.select_related("team", "account__cluster"), pk=pk, team__name=team)
    teams.revoke_grant(by=request.user, grant=grant)
    messages.success(request, f"{team} no longer sees {grant.account.cluster.name} / {grant.account.name}.")
    return redirect("team", team=team)


@superuser_required
@require_POST
def member_add(request, team):
    team = get_object_or_404(Team, name=team)
    form = MemberForm(request.POST)
    if not form.is_valid():
        return _team_page(request, team, member_form=form, status=400)
    membership = teams.set_membership(by=request.user, team=team, user=form.cleaned_data["user"],
                                      role=form.cleaned_data["role"])
    messages.success(request, f"{membership.user.get_username()} is a {membership.role} in {team.name}.")
    return redirect("team", team=team.name)


@superuser_required
@require_POST
def member_delete(request, team, pk):
    membership = get_object_or_404(Membership.objects.select_related("team", "user"), pk=pk, team__name=team)
    teams.remove_membership(by=request.user, membership=membership)
    messages.success(request, f"Removed {membership.user.get_username()} from {team}.")
    return redirect("team", team=team)
