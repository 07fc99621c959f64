"""Team management in the UI (superusers): teams, grants, members and roles, each change audited."""

import pytest
from django.test import Client

from clusters import selectors
from clusters.models import Account, Cluster, Membership, Team, TeamGrant
from streams.models import Action, AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def root_client(make_user):
    client = Client()
    client.force_login(make_user("root", is_superuser=True))
    return client


@pytest.fixture
def lab():
    cluster = Cluster.objects.create(name="lab")
    return {name: Account.objects.create(cluster=cluster, name=name) for name in ("TEAM_A", "TEAM_B")}


def test_a_superuser_builds_a_team_and_its_member_then_sees_the_granted_account(root_client, lab, make_user):
    alice = make_user("alice")
    assert not selectors.visible_accounts(alice).exists()

    response = root_client.post("/teams/", {"name": "payments"})
    assert response.status_code == 302 and response["Location"] == "/teams/payments/"
    assert root_client.post("/teams/payments/grants/", {"account": lab["TEAM_A"].pk}).status_code == 302
    assert root_client.post("/teams/payments/members/", {"username": "alice", "role": "operator"}).status_code == 302

    assert list(selectors.visible_accounts(alice)) == [lab["TEAM_A"]]
    assert selectors.role_on(alice, lab["TEAM_A"]) == "operator"
    page = root_client.get("/teams/payments/").content.decode()
    assert "lab</a></td>" in page and "TEAM_A" in page and "alice" in page and "operator" in page
    assert "payments" in root_client.get("/teams/").content.decode()

    # A second post changes the role rather than adding the member twice.
    root_client.post("/teams/payments/members/", {"username": "alice", "role": "viewer"})
    assert selectors.role_on(alice, lab["TEAM_A"]) == "viewer"
    assert Membership.objects.filter(user=alice).count() == 1

    actions = list(AuditEntry.objects.order_by("id").values_list("action", "username", "cluster", "account"))
    assert actions == [(Action.CREATE_TEAM, "root", "", ""), (Action.GRANT, "root", "lab", "TEAM_A"),
                       (Action.SET_MEMBER, "root", "", ""), (Action.SET_MEMBER, "root", "", "")]


def test_revoking_and_removing_take_the_access_away(root_client, lab, make_user):
    alice = make_user("alice")
    team = Team.objects.create(name="payments")
    grant = TeamGrant.objects.create(team=team, account=lab["TEAM_A"])
    membership = Membership.objects.create(team=team, user=alice, role="operator")

    assert root_client.post(f"/teams/payments/grants/{grant.pk}/delete/").status_code == 302
    assert not selectors.visible_accounts(alice).exists()
    assert root_client.post(f"/teams/payments/members/{membership.pk}/delete/").status_code == 302
    assert not Membership.objects.exists()
    assert {e.action for e in AuditEntry.objects.all()} == {Action.REVOKE, Action.REMOVE_MEMBER}


@pytest.mark.parametrize(("url", "data", "message"), [
    ("/teams/", {"name": "bad name!"}, "Use letters"),
    ("/teams/", {"name": "payments"}, "a team named &#x27;payments&#x27; already exists"),
    ("/teams/payments/grants/", {"account": "99999"}, "no such account"),
    ("/teams/payments/grants/", {}, "This field is required"),
    ("/teams/payments/members/", {"username": "nobody", "role": "viewer"}, "no user named &#x27;nobody&#x27;"),
    ("/teams/payments/members/", {"username": "alice", "role": "admin"}, "Select a valid choice"),
])
def test_bad_input_is_refused_with_a_message_and_changes_nothing(root_client, lab, make_user, url, data, message):
    make_user("alice")
    Team.objects.create(name="payments")
    response = root_client.post(url, data)
    assert response.status_code in (200, 400)
    assert message in response.content.decode()
    assert list(Team.objects.values_list("name", flat=True)) == ["payments"]
    assert not TeamGrant.objects.exists() and not Membership.objects.exists() and not AuditEntry.objects.exists()


def test_a_team_is_deleted_only_when_its_name_is_typed(root_client, lab):
    team = Team.objects.create(name="payments")
    TeamGrant.objects.create(team=team, account=lab["TEAM_A"])
    root_client.post("/teams/payments/delete/", {"confirm": "payment"})
    assert Team.objects.filter(name="payments").exists()
    assert root_client.post("/teams/payments/delete/", {"confirm": "payments"})["Location"] == "/teams/"
    assert not Team.objects.exists() and not TeamGrant.objects.exists()
    entry = AuditEntry.objects.get()
    assert entry.action == Action.DELETE_TEAM and entry.parameters["grants"] == ["lab/TEAM_A"]


def test_a_grant_or_member_of_another_team_is_not_found(root_client, lab, make_user):
    one, other = Team.objects.create(name="one"), Team.objects.create(name="other")
    grant = TeamGrant.objects.create(team=other, account=lab["TEAM_A"])
    membership = Membership.objects.create(team=other, user=make_user("alice"))
    assert root_client.post(f"/teams/one/grants/{grant.pk}/delete/").status_code == 404
    assert root_client.post(f"/teams/one/members/{membership.pk}/delete/").status_code == 404
    assert TeamGrant.objects.exists() and Membership.objects.exists() and one.pk
