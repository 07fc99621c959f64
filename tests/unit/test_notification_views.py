"""A team's notifications page: operators and superusers change it, viewers read it, others get
404; bad input is refused with a message and changes nothing; webhook secrets are never shown."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clusters.models import Account, Cluster, Membership, Role, Team, TeamGrant
from notifications.models import NotificationChannel, Silence

pytestmark = pytest.mark.django_db

SECRET_URL = "https://hooks.example.com/services/T0/B0/SECRETTOKEN?key=SECRETKEY"


@pytest.fixture
def teams(make_user):
    lab = Cluster.objects.create(name="lab")
    other = Cluster.objects.create(name="other")
    accounts = {name: Account.objects.create(cluster=lab, name=name) for name in ("TEAM_A", "TEAM_B")}
    accounts["OTHER"] = Account.objects.create(cluster=other, name="OTHER")
    payments = Team.objects.create(name="payments")
    TeamGrant.objects.create(team=payments, account=accounts["TEAM_A"])
    users = {"operator": make_user("olga"), "viewer": make_user("victor"), "outsider": make_user("bert"),
             "root": make_user("root", is_superuser=True, is_staff=True)}
    Membership.objects.create(team=payments, user=users["operator"], role=Role.OPERATOR)
    Membership.objects.create(team=payments, user=users["viewer"], role=Role.VIEWER)
    return payments, accounts, users


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def webhook(name="ops", url=SECRET_URL):
    return {"kind": "webhook", "name": name, "url": url, "on_fire": "on", "on_resolve": "on"}


@pytest.mark.parametrize(("who", "page", "change"), [
    ("root", 200, 302), ("operator", 200, 302), ("viewer", 200, 403), ("outsider", 404, 404)])
def test_who_may_see_and_change_a_teams_notifications(teams, who, page, change):
    team, _, users = teams
    client = client_for(users[who])
    assert client.get(reverse("team-notifications", args=[team.name])).status_code == page
    assert client.post(reverse("notification-channel-add", args=[team.name]), webhook()).status_code == change
    assert client.post(reverse("silence-add", args=[team.name]), {"duration": "1h"}).status_code == change
    assert NotificationChannel.objects.exists() is (change == 302)
    assert Silence.objects.exists() is (change == 302)
    if change == 302:
        channel, silence = NotificationChannel.objects.get(), Silence.objects.get()
        other = client_for(users["viewer"])
        assert other.post(reverse("notification-channel-delete", args=[team.name, channel.pk])).status_code == 403
        assert other.post(reverse("silence-delete", args=[team.name, silence.pk])).status_code == 403
        assert client.post(reverse("notification-channel-delete", args=[team.name, channel.pk])).status_code == 302
        assert client.post(reverse("silence-delete", args=[team.name, silence.pk])).status_code == 302
        assert not NotificationChannel.objects.exists() and not Silence.objects.exists()


def test_unknown_team_is_404_even_for_superusers(teams):
    assert client_for(teams[2]["root"]).get("/teams/nobody/notifications/").status_code == 404


def test_pages_need_a_login(teams):
    response = Client().get(reverse("team-notifications", args=[teams[0].name]))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_webhook_url_is_stored_but_never_shown(teams):
    team, _, users = teams
    client = client_for(users["operator"])
    client.post(reverse("notification-channel-add", args=[team.name]), webhook())
    assert NotificationChannel.objects.get().url == SECRET_URL
    for user in ("operator", "viewer"):
        body = client_for(users[user]).get(reverse("team-notifications", args=[team.name])).content.decode()
        assert "https://hooks.example.com" in body
        assert "SECRET" not in body and "/services/" not in body and "T0/B0" not in body


@pytest.mark.parametrize(("data", "message"), [
    ({**webhook(), "url": "ftp://example.com/x"}, "must be http:// or https://"),
    ({**webhook(), "url": ""}, "a webhook needs a URL"),
    ({**webhook(), "name": " "}, "give the channel a name"),
    ({**webhook(), "on_fire": "", "on_resolve": ""}, "at least one of"),
    ({"kind": "sms", "name": "x", "on_fire": "on"}, "webhook or nats"),
    ({"kind": "nats", "name": "bus", "subject": "alerts.natsdash", "on_fire": "on"}, "choose one of the team"),
    ({"kind": "nats", "name": "bus", "subject": "alerts.*", "on_fire": "on", "account": "TEAM_A"},
     "contains a wildcard"),
    ({"kind": "nats", "name": "bus", "subject": "alerts..x", "on_fire": "on", "account": "TEAM_A"}, "empty token"),
    ({"kind": "nats", "name": "bus", "subject": "alerts.x", "on_fire": "on", "account": "TEAM_B"},
     "holds no grant on that account"),
    ({"kind": "nats", "name": "bus", "subject": "alerts.x", "on_fire": "on", "account": "OTHER"},
     "holds no grant on that account"),
    ({"kind": "nats", "name": "bus", "subject": "$JS.API.STREAM.DELETE.ORDERS", "on_fire": "on",
      "account": "TEAM_A"}, "is reserved"),
    ({"kind": "nats", "name": "bus", "subject": "$SYS.REQ.SERVER.PING", "on_fire": "on", "account": "TEAM_A"},
     "is reserved"),
    ({"kind": "nats", "name": "bus", "subject": "_INBOX.x", "on_fire": "on", "account": "TEAM_A"}, "is reserved"),
    ({**webhook(), "url": "http://169.254.169.254/latest/meta-data/"}, "link-local"),
    ({**webhook(), "url": "http://[fe80::1]:8080/hook"}, "link-local"),
    ({**webhook(), "url": "http://metadata.google.internal/computeMetadata/v1/"}, "cloud metadata"),
])
def test_bad_channels_are_refused_with_a_message_and_change_nothing(teams, data, message):
    team, accounts, users = teams
    if data.get("account") in accounts:
        data = {**data, "account": str(accounts[data["account"]].pk)}
    response = client_for(users["operator"]).post(reverse("notification-channel-add", args=[team.name]), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not NotificationChannel.objects.exists()


def test_a_nats_channel_on_a_granted_account(teams):
    team, accounts, users = teams
    response = client_for(users["operator"]).post(reverse("notification-channel-add", args=[team.name]), {
        "kind": "nats", "name": "bus", "subject": "alerts.natsdash", "account": str(accounts["TEAM_A"].pk),
        "on_fire": "on"})
    assert response.status_code == 302
    channel = NotificationChannel.objects.get()
    assert (channel.account, channel.subject, channel.on_fire, channel.on_resolve) == (
        accounts["TEAM_A"], "alerts.natsdash", True, False)


def test_duplicate_channel_names_are_refused(teams):
    team, _, users = teams
    client = client_for(users["operator"])
    assert client.post(reverse("notification-channel-add", args=[team.name]), webhook()).status_code == 302
    response = client.post(reverse("notification-channel-add", args=[team.name]), webhook())
    assert response.status_code == 400 and "already has a channel named" in response.content.decode()
    assert NotificationChannel.objects.count() == 1


@pytest.mark.parametrize(("data", "message"), [
    ({}, "needs a duration or an end time"),
    ({"duration": "forever"}, "is not like 30m"),
    ({"duration": "1h", "cluster": "other"}, "holds no grant on a cluster named"),
    ({"duration": "1h", "account": "TEAM_A"}, "needs its cluster"),
    ({"duration": "1h", "cluster": "lab", "account": "TEAM_B"}, "holds no grant on account"),
    ({"ends_at": "2001-01-01T00:00"}, "in the past"),
    ({"duration": "1h", "check": "consumer_pending"}, "is not a check"),
    ({"duration": "1h", "check": "nodes"}, "is not a check"),
])
def test_bad_silences_are_refused_with_a_message_and_change_nothing(teams, data, message):
    team, _, users = teams
    response = client_for(users["operator"]).post(reverse("silence-add", args=[team.name]), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Silence.objects.exists()


def test_a_silence_of_one_account(teams):
    team, _, users = teams
    response = client_for(users["operator"]).post(reverse("silence-add", args=[team.name]), {
        "cluster": "lab", "account": "TEAM_A", "check": "consumer.num_pending", "duration": "2h",
        "reason": "backfill"})
    assert response.status_code == 302
    silence = Silence.objects.get()
    assert (silence.cluster.name, silence.account, silence.check_name, silence.reason, silence.created_by) == (
        "lab", "TEAM_A", "consumer.num_pending", "backfill", users["operator"])
    assert silence.active
    page = client_for(users["viewer"]).get(reverse("team-notifications", args=[team.name])).content.decode()
    assert "backfill" in page


def test_a_silence_of_a_check_family(teams):
    team, _, users = teams
    response = client_for(users["operator"]).post(reverse("silence-add", args=[team.name]), {
        "cluster": "lab", "check": "consumer", "duration": "2h"})
    assert response.status_code == 302
    assert Silence.objects.get().check_name == "consumer"


def test_deleting_another_teams_channel_is_refused(teams, make_user):
    team, _, users = teams
    other = Team.objects.create(name="other-team")
    channel = NotificationChannel.objects.create(team=other, kind="webhook", name="theirs", url="https://x.example/")
    response = client_for(users["operator"]).post(
        reverse("notification-channel-delete", args=[team.name, channel.pk]))
    assert response.status_code == 400 and "no such channel in this team" in response.content.decode()
    assert NotificationChannel.objects.filter(pk=channel.pk).exists()
    silence = Silence.objects.create(team=other, ends_at=timezone.now() + timedelta(hours=1))
    response = client_for(users["operator"]).post(reverse("silence-delete", args=[team.name, silence.pk]))
    assert response.status_code == 400 and "no such silence in this team" in response.content.decode()
    assert Silence.objects.filter(pk=silence.pk).exists()
