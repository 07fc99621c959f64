"""One delivery attempt at a time against a real local receiver: what is retried, when it stops,
what is logged (never the webhook's secret)."""

import logging

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from alerts.models import Alert, AlertState
from clusters.models import Account, Cluster, Membership, Role, Team, TeamGrant
from devstack.ports import free_port
from notifications import rules, services, tasks
from notifications.models import (
    ChannelKind,
    Delivery,
    DeliveryStatus,
    NotificationChannel,
    Transition,
)
from tests.support.receivers import WebhookReceiver

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def team_alert(make_user):
    cluster = Cluster.objects.create(name="lab")
    account = Account.objects.create(cluster=cluster, name="TEAM_A")
    team = Team.objects.create(name="payments")
    TeamGrant.objects.create(team=team, account=account)
    viewer = make_user("victor")
    Membership.objects.create(team=team, user=viewer, role=Role.VIEWER)
    now = timezone.now()
    alert = Alert.objects.create(cluster=cluster, account="TEAM_A", check_name="consumer.num_pending",
                                 target="ORDERS/audit", key="consumer.num_pending|ORDERS/audit",
                                 state=AlertState.FIRING, severity="critical", message="audit: 12,000 pending",
                                 value=12000, peak=12000, threshold=10000, started_at=now, fired_at=now,
                                 last_failing_at=now)
    return team, alert, viewer


def one_delivery(team, alert, url, *, channel=None):
    """A delivery as services.notify makes it, without enqueueing it (a Celery worker of another
    test module could otherwise race these attempts)."""
    channel = channel or services.add_channel(team=team, kind=ChannelKind.WEBHOOK, name="hook", url=url)
    return Delivery.objects.create(
        team=team, channel=channel, channel_name=channel.name, alert_id=alert.pk, cluster=alert.cluster,
        account=alert.account, check_name=alert.check_name, transition=Transition.FIRED, transition_at=alert.fired_at,
        payload=rules.alert_body(alert, transition=Transition.FIRED, cluster="lab", link="http://dash/"))


@override_settings(NOTIFY_MAX_ATTEMPTS=3, NOTIFY_RETRY_BACKOFF=2.0)
def test_an_unreachable_receiver_is_retried_with_backoff_then_given_up(team_alert, caplog):
    team, alert, viewer = team_alert
    url = f"http://127.0.0.1:{free_port()}/hook/SECRETPATH?token=SECRETTOKEN"
    delivery = one_delivery(team, alert, url)
    caplog.set_level(logging.INFO, logger="notifications")
    waits = [services.attempt_delivery(delivery_id=delivery.pk) for _ in range(4)]
    assert waits == [2.0, 4.0, None, None]  # the fourth call finds it finished
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 3
    assert delivery.last_error.startswith("connection failed")
    log = list(delivery.attempt_log.values_list("number", "ok", "response_code", "retry_in"))
    assert log == [(1, False, None, 2.0), (2, False, None, 4.0), (3, False, None, None)]
    assert "giving up" in caplog.text and "127.0.0.1" in caplog.text
    assert "SECRET" not in caplog.text

    page = Client()
    page.force_login(viewer)
    body = page.get(f"/teams/{team.name}/notifications/").content.decode()
    assert "failed" in body and "connection failed" in body and "SECRET" not in body


@override_settings(NOTIFY_MAX_ATTEMPTS=5)
def test_a_client_error_is_not_retried_and_its_body_is_not_kept(team_alert):
    team, alert, viewer = team_alert
    with WebhookReceiver(statuses=[404]) as receiver:
        delivery = one_delivery(team, alert, f"{receiver.url}/missing")
        assert services.attempt_delivery(delivery_id=delivery.pk) is None
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.response_code) == (DeliveryStatus.FAILED, 1, 404)
        assert len(receiver.received()) == 1
    # The receiver answered "receiver broke": what a URL answers is not shown (an operator could
    # otherwise read internal services through natsdash).
    assert delivery.last_error == "HTTP 404"
    assert list(delivery.attempt_log.values_list("response_code", "error")) == [(404, "HTTP 404")]
    page = Client()
    page.force_login(viewer)
    body = page.get(f"/teams/{team.name}/notifications/").content.decode()
    assert "HTTP 404" in body and "receiver broke" not in body


@override_settings(NOTIFY_MAX_ATTEMPTS=5, NOTIFY_TIMEOUT=1.0)
def test_a_stored_link_local_webhook_is_not_called(team_alert):
    """A channel stored before the rule existed (or through the admin) is refused when it is sent."""
    team, alert, _ = team_alert
    channel = NotificationChannel.objects.create(team=team, kind=ChannelKind.WEBHOOK, name="metadata",
                                                 url="http://169.254.169.254/latest/meta-data/")
    delivery = one_delivery(team, alert, "", channel=channel)
    assert services.attempt_delivery(delivery_id=delivery.pk) is None
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (DeliveryStatus.FAILED, 1, None)
    assert "link-local" in delivery.last_error


@override_settings(NOTIFY_MAX_ATTEMPTS=5)
def test_a_stored_nats_channel_on_an_api_subject_is_not_published(team_alert):
    team, alert, _ = team_alert
    account = Account.objects.get(name="TEAM_A")
    channel = NotificationChannel.objects.create(team=team, kind=ChannelKind.NATS, name="api", account=account,
                                                 subject="$JS.API.STREAM.DELETE.ORDERS")
    delivery = one_delivery(team, alert, "", channel=channel)
    assert services.attempt_delivery(delivery_id=delivery.pk) is None
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 1)
    assert "is reserved" in delivery.last_error


@override_settings(NOTIFY_MAX_ATTEMPTS=5, NOTIFY_RETRY_BACKOFF=30.0)
def test_the_task_retries_on_a_5xx_until_delivered(team_alert):
    """Run in-process through Celery's own apply (retries run at once, the countdown is recorded)."""
    team, alert, _ = team_alert
    with WebhookReceiver(statuses=[503, 502]) as receiver:
        delivery = one_delivery(team, alert, f"{receiver.url}/hook")
        tasks.deliver.apply(args=[delivery.pk])
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 3)
        assert [r["status"] for r in receiver.received()] == [503, 502, 200]
        assert [r["body"]["attempt"] for r in receiver.received()] == [1, 2, 3]
        assert list(delivery.attempt_log.values_list("retry_in", flat=True)) == [30.0, 60.0, None]
