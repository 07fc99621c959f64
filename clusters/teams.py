"""Team management: who may see and operate which accounts. Superusers only (the views check);
every change is written to the audit log with who made it."""

from __future__ import annotations

from django.db import transaction

from clusters.models import Account, Membership, Team, TeamGrant


def _audit(*, by, action: str, team: Team, account: Account | None = None, parameters: dict | None = None) -> None:
    from streams.models import AuditEntry, Outcome

    AuditEntry.objects.create(
        user=by, username=by.get_username(), cluster=account.cluster.name if account else "",
        account=account.name if account else "", action=action, target=f"team {team.name}",
        parameters=parameters or {}, outcome=Outcome.OK)


@transaction.atomic
def create_team(*, by, name: str) -> Team:
    from streams.models import Action

    team = Team.objects.create(name=name)
    _audit(by=by, action=Action.CREATE_TEAM, team=team)
    return team


@transaction.atomic
def delete_team(*, by, team: Team) -> None:
    from streams.models import Action

    _audit(by=by, action=Action.DELETE_TEAM, team=team, parameters={
        "grants": [str(grant.account) for grant in team.grants.select_related("account__cluster")],
        "members": [m.user.get_username() for m in team.memberships.select_related("user")]})
    team.delete()


@transaction.atomic
def grant_account(*, by, team: Team, account: Account) -> TeamGrant:
    from streams.models import Action

    grant, created = TeamGrant.objects.get_or_create(team=team, account=account)
    if created:
        _audit(by=by, action=Action.GRANT, team=team, account=account)
    return grant


@transaction.atomic
def revoke_grant(*, by, grant: TeamGrant) -> None:
    from streams.models import Action

    _audit(by=by, action=Action.REVOKE, team=grant.team, account=grant.account)
    grant.team.notification_channels.filter(kind="nats", account=grant.account).update(enabled=False)
    grant.delete()


@transaction.atomic
def set_membership(*, by, team: Team, user, role: str) -> Membership:
    """Adds the user to the team with `role`, or changes the role of a member."""
    from streams.models import Action

    membership, created = Membership.objects.get_or_create(team=team, user=user, defaults={"role": role})
    if created or membership.role != role:
        previous = None if created else membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        _audit(by=by, action=Action.SET_MEMBER, team=team,
               parameters={"user": user.get_username(), "role": role, "previous_role": previous})
    return membership


@transaction.atomic
def remove_membership(*, by, membership: Membership) -> None:
    from streams.models import Action

    _audit(by=by, action=Action.REMOVE_MEMBER, team=membership.team,
           parameters={"user": membership.user.get_username(), "role": membership.role})
    membership.delete()
