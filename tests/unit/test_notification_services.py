"""Notification writes without a network: what a revoked grant does to a team's NATS channels, and
how the delivery log and ended silences are pruned by the retention task."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from alerts.models import Alert, AlertState
from clusters import retention, teams
from clusters.models import Account, Cluster, Team, TeamGrant
from notifications import services
from notifications.models import (
    ChannelKind,
    Delivery,
    DeliveryAttempt,
    NotificationChannel,
    Silence,
    Transition,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def granted(make_user):
    lab = Cluster.objects.create(name="lab")
    accounts = {name: Account.objects.create(cluster=lab, name=name) for name in ("TEAM_A", "SHARED")}
    team = Team.objects.create(name="payments")
    grants = {name: TeamGrant.objects.create(team=team, account=account) for name, account in accounts.items()}
    return team, accounts, grants, make_user("root", is_superuser=True, is_staff=True)


def nats_channel(team, account, name):
    return services.add_channel(team=team, kind=ChannelKind.NATS, name=name, account_id=account.pk,
                                subject=f"alerts.{name}")


def test_revoking_a_grant_disables_the_teams_nats_channels_on_that_account(granted):
    team, accounts, grants, root = granted
    on_a = nats_channel(team, accounts["TEAM_A"], "bus-a")
    on_shared = nats_channel(team, accounts["SHARED"], "bus-shared")
    hook = services.add_channel(team=team, kind=ChannelKind.WEBHOOK, name="hook", url="https://hooks.example.com/x")
    other_team = Team.objects.create(name="other")
    TeamGrant.objects.create(team=other_team, account=accounts["TEAM_A"])
    theirs = nats_channel(other_team, accounts["TEAM_A"], "theirs")

    teams.revoke_grant(by=root, grant=grants["TEAM_A"])

    enabled = dict(NotificationChannel.objects.values_list("name", "enabled"))
    assert enabled == {on_a.name: False, on_shared.name: True, hook.name: True, theirs.name: True}


def make_alert(cluster, *, account="TEAM_A", check="consumer.num_pending"):
    now = timezone.now()
    return Alert.objects.create(cluster=cluster, account=account, check_name=check, target="ORDERS/audit",
                                key=f"{check}|ORDERS/audit", state=AlertState.FIRING, severity="warning",
                                message="audit: 12 pending", value=12, started_at=now, fired_at=now,
                                last_failing_at=now)


def test_no_delivery_is_created_for_a_nats_channel_on_an_account_no_longer_granted(granted):
    team, accounts, grants, _ = granted
    nats_channel(team, accounts["TEAM_A"], "bus-a")
    nats_channel(team, accounts["SHARED"], "bus-shared")
    # Removed without the service (as a bulk delete or the admin's list action would): still enabled.
    grants["SHARED"].delete()
    created = services.notify(alert=make_alert(accounts["TEAM_A"].cluster), transition=Transition.FIRED)
    assert [d.channel_name for d in created] == ["bus-a"]


def test_a_silence_of_a_family_holds_back_its_checks(granted, make_user):
    team, accounts, _, _ = granted
    services.add_channel(team=team, kind=ChannelKind.WEBHOOK, name="hook", url="https://hooks.example.com/x")
    services.add_silence(team=team, user=make_user("olga"), check="consumer", duration="1h")
    cluster = accounts["TEAM_A"].cluster
    assert services.notify(alert=make_alert(cluster, check="consumer.num_pending"), transition=Transition.FIRED) == []
    assert len(services.notify(alert=make_alert(cluster, check="stream.messages"), transition=Transition.FIRED)) == 1


def delivery(team, cluster, *, age_days: float, alert_id: int):
    row = Delivery.objects.create(team=team, channel=None, channel_name="hook", alert_id=alert_id, cluster=cluster,
                                  account="TEAM_A", check_name="node.cpu", transition=Transition.FIRED,
                                  transition_at=timezone.now(), payload={})
    at = timezone.now() - timedelta(days=age_days)
    Delivery.objects.filter(pk=row.pk).update(created_at=at)  # auto_now_add ignores a given value
    DeliveryAttempt.objects.create(delivery=row, number=1, at=at, ok=False, error="HTTP 500")
    return row


@override_settings(ALERT_HISTORY_DAYS=30)
def test_prune_history_drops_old_deliveries_their_attempts_and_long_ended_silences(granted):
    team, accounts, _, _ = granted
    cluster = accounts["TEAM_A"].cluster
    old = delivery(team, cluster, age_days=31, alert_id=1)
    recent = delivery(team, cluster, age_days=29, alert_id=2)
    now = timezone.now()
    silences = {name: Silence.objects.create(team=team, ends_at=now + offset, reason=name) for name, offset in {
        "long ended": -timedelta(days=31), "recently ended": -timedelta(days=29), "active": timedelta(hours=1)}.items()}

    assert services.prune_history() == {"deliveries": 1, "attempts": 1, "silences": 1}

    assert list(Delivery.objects.values_list("pk", flat=True)) == [recent.pk]
    assert list(DeliveryAttempt.objects.values_list("delivery_id", flat=True)) == [recent.pk]
    assert not Delivery.objects.filter(pk=old.pk).exists()
    assert sorted(Silence.objects.values_list("reason", flat=True)) == ["active", "recently ended"]
    assert Silence.objects.filter(pk=silences["active"].pk).exists()
    assert services.prune_history() == {"deliveries": 0, "attempts": 0, "silences": 0}


@override_settings(ALERT_HISTORY_DAYS=7)
def test_the_retention_task_prunes_notifications(granted):
    team, accounts, _, _ = granted
    cluster = accounts["TEAM_A"].cluster
    delivery(team, cluster, age_days=8, alert_id=1)
    kept = delivery(team, cluster, age_days=6, alert_id=2)
    Silence.objects.create(team=team, ends_at=timezone.now() - timedelta(days=8))
    report = retention.downsample_and_prune()
    assert report["notifications"] == {"deliveries": 1, "attempts": 1, "silences": 1}
    assert list(Delivery.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not Silence.objects.exists()

