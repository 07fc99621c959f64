"""Notifications of real alerts: a consumer backlog over its threshold fires an alert through the
alerts pipeline (real polls of a real NATS cluster), its end resolves it; the deliveries go
through the real Celery worker to a real local webhook receiver and to a NATS subject."""

import time

import pytest
from django.test import override_settings
from django.utils import timezone
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig

from alerts.models import Alert, AlertState
from alerts.services import set_threshold
from clusters import polling
from clusters.models import TeamGrant
from notifications import services
from notifications.models import ChannelKind, Delivery, DeliveryStatus, Transition
from tests.support.fleet import publish_when_ready, register_fleet, run_nats
from tests.support.receivers import NatsListener, WebhookReceiver

pytestmark = pytest.mark.django_db(transaction=True)

JS_TIMEOUT = 20.0  # the test's own JetStream calls, on a machine other test runs share

# Alerts fire and resolve on the first poll that sees them; thresholds are the test's own (a fresh
# cluster's uptime and a busy test machine's CPU would raise alerts of their own).
FAST_ALERTS = override_settings(ALERT_FOR_SECONDS=0.0, ALERT_RESOLVE_SECONDS=0.0, ALERT_FOR_SECONDS_BY_CHECK={},
                                ALERT_NODE_RESTART_SECONDS=0.0, ALERT_NODE_CPU_WARNING=0.0,
                                ALERT_NODE_CPU_CRITICAL=0.0)
CHECK = "consumer.num_pending"


@pytest.fixture
def fleet(nats_cluster, make_user):
    cluster, accounts, users = register_fleet(nats_cluster, make_user)
    with FAST_ALERTS:
        yield cluster, accounts, users

    async def clean(nc, js):
        js = nc.jetstream(timeout=JS_TIMEOUT)
        for info in await js.streams_info():
            await js.delete_stream(info.config.name)

    run_nats(nats_cluster, "TEAM_A", clean)


def wait_for(condition, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")


def backlog(nats_cluster, stream: str, messages: int) -> None:
    """A stream on TEAM_A whose consumer `work` never reads: `messages` pending."""
    async def work(nc, js):
        js = nc.jetstream(timeout=JS_TIMEOUT)
        await js.add_stream(StreamConfig(name=stream, subjects=[f"{stream.lower()}.>"], num_replicas=1))
        await js.add_consumer(stream, ConsumerConfig(durable_name="work", ack_policy=AckPolicy.EXPLICIT))
        for index in range(messages):
            await publish_when_ready(js, f"{stream.lower()}.item", f"message {index}".encode())

    run_nats(nats_cluster, "TEAM_A", work)


def purge(nats_cluster, stream: str) -> None:
    async def work(nc, js):
        js = nc.jetstream(timeout=JS_TIMEOUT)
        await js.purge_stream(stream)

    run_nats(nats_cluster, "TEAM_A", work)


def poll_until_alert(cluster, stream: str, state: str) -> Alert:
    def found():
        polling.poll_cluster(cluster.pk)
        return Alert.objects.filter(cluster=cluster, check_name=CHECK, target=f"{stream}/work", state=state).first()

    return wait_for(found, timeout=60, what=f"the {CHECK} alert of {stream} to be {state}")


def fire_and_resolve(nats_cluster, cluster, stream: str) -> Alert:
    """The real pipeline: 10 pending over a threshold of 5 fires; a purge resolves."""
    set_threshold(cluster=cluster, check=CHECK, account="TEAM_A", stream=stream, consumer="work",
                  warning=5, critical=None)
    backlog(nats_cluster, stream, 10)
    poll_until_alert(cluster, stream, AlertState.FIRING)
    purge(nats_cluster, stream)
    return poll_until_alert(cluster, stream, AlertState.RESOLVED)


def about(alert):
    return lambda request: request["body"]["alert"]["id"] == alert.pk


def test_webhook_gets_one_fire_and_one_resolve_and_retries_after_a_500(fleet, nats_cluster, celery_worker):
    cluster, accounts, _ = fleet
    team_a = accounts["TEAM_A"].grants.get().team
    team_b = accounts["TEAM_B"].grants.get().team
    with WebhookReceiver(statuses=[500]) as receiver_a, WebhookReceiver() as receiver_b:
        services.add_channel(team=team_a, kind=ChannelKind.WEBHOOK, name="ops hook",
                             url=f"{receiver_a.url}/hook?token=s3cret")
        services.add_channel(team=team_b, kind=ChannelKind.WEBHOOK, name="b hook", url=f"{receiver_b.url}/hook")

        alert = fire_and_resolve(nats_cluster, cluster, "BACKLOG")
        deliveries = wait_for(
            lambda: (list(Delivery.objects.filter(alert_id=alert.pk).order_by("transition"))
                     if Delivery.objects.filter(alert_id=alert.pk, status=DeliveryStatus.DELIVERED).count() == 2
                     else None),
            timeout=120, what="both deliveries to be delivered")

        mine = [r for r in receiver_a.received() if about(alert)(r)]
        # The first POST got a 500 and was retried; exactly one fire and one resolve got through.
        assert [r["status"] for r in mine].count(500) == 1
        delivered = [r["body"]["transition"] for r in mine if r["status"] == 200]
        assert sorted(delivered) == ["fired", "resolved"]
        assert len(mine) == 3
        fired_body = next(r["body"] for r in mine if r["status"] == 200 and r["body"]["transition"] == "fired")
        assert fired_body["cluster"] == "lab" and fired_body["account"] == "TEAM_A"
        assert fired_body["alert"]["check"] == CHECK and fired_body["alert"]["target"] == "BACKLOG/work"
        assert fired_body["alert"]["state"] == "firing" and fired_body["alert"]["value"] == 10
        assert fired_body["link"].endswith("/clusters/lab/health/") or fired_body["link"].endswith("/clusters/lab/")
        resolved_body = next(r["body"] for r in mine if r["body"]["transition"] == "resolved")
        assert resolved_body["alert"]["state"] == "resolved" and resolved_body["alert"]["resolved_at"]
        assert {r["headers"]["X-Natsdash-Delivery"] for r in mine} == {str(d.pk) for d in deliveries}

        fired, resolved = deliveries  # "fired" < "resolved"
        assert (fired.transition, resolved.transition) == (Transition.FIRED, Transition.RESOLVED)
        assert fired.team == team_a and resolved.team == team_a
        first_post = mine[0]["body"]["transition"]
        retried = fired if first_post == "fired" else resolved
        log = list(retried.attempt_log.values_list("number", "ok", "response_code", "retry_in"))
        assert log == [(1, False, 500, 10.0), (2, True, 200, None)]
        assert retried.attempts == 2 and retried.response_code == 200 and retried.delivered_at
        other = resolved if retried is fired else fired
        assert list(other.attempt_log.values_list("number", "ok", "response_code")) == [(1, True, 200)]

        # Team B holds no grant on TEAM_A: nothing was created for it, nothing reached its receiver.
        assert not Delivery.objects.filter(team=team_b).exists()
        assert not [r for r in receiver_b.received() if about(alert)(r)]

        # The same transitions announced again change nothing.
        assert services.notify(alert=alert, transition=Transition.RESOLVED) == []
        assert Delivery.objects.filter(alert_id=alert.pk).count() == 2


def test_a_team_is_told_only_about_its_accounts_and_not_while_silenced(fleet, nats_cluster):
    cluster, accounts, users = fleet
    team_a = accounts["TEAM_A"].grants.get().team
    team_b = accounts["TEAM_B"].grants.get().team
    hook_a = services.add_channel(team=team_a, kind=ChannelKind.WEBHOOK, name="a", url="http://127.0.0.1:9/a",
                                  on_resolve=False)
    services.add_channel(team=team_b, kind=ChannelKind.WEBHOOK, name="b", url="http://127.0.0.1:9/b")

    set_threshold(cluster=cluster, check=CHECK, account="TEAM_A", stream="SCOPED", consumer="work",
                  warning=5, critical=None)
    backlog(nats_cluster, "SCOPED", 10)
    alert = poll_until_alert(cluster, "SCOPED", AlertState.FIRING)
    assert list(Delivery.objects.filter(alert_id=alert.pk).values_list("team__name", "channel_name", "transition")) == [
        ("team-a", "a", "fired")]

    # A cluster-wide alert reaches every team holding an account on the cluster.
    wide = Alert.objects.create(cluster=cluster, account="", check_name="node.cpu", target="n9", key="node.cpu|n9",
                                state=AlertState.FIRING, severity="warning", message="n9 CPU 91%", value=91,
                                started_at=alert.started_at, fired_at=alert.started_at,
                                last_failing_at=alert.started_at)
    created = services.notify(alert=wide, transition=Transition.FIRED)
    assert sorted(d.team.name for d in created) == ["team-a", "team-b"]

    # Team A silences TEAM_A: its next TEAM_A alert is not sent; team B still hears of cluster-wide ones.
    services.add_silence(team=team_a, user=users["operator"], cluster_name="lab", account="TEAM_A",
                         duration="1h", reason="maintenance")
    purge(nats_cluster, "SCOPED")
    poll_until_alert(cluster, "SCOPED", AlertState.RESOLVED)
    backlog_again = run_nats(nats_cluster, "TEAM_A", _publish_ten("scoped.item"))
    assert backlog_again == 10
    again = poll_until_alert(cluster, "SCOPED", AlertState.FIRING)
    assert again.pk != alert.pk
    assert not Delivery.objects.filter(alert_id=again.pk).exists()
    assert sorted(hook_a.deliveries.filter(alert_id__in=[alert.pk, wide.pk, again.pk]).values_list(
        "alert_id", flat=True)) == sorted([alert.pk, wide.pk])  # the first TEAM_A fire and the cluster-wide one


def _publish_ten(subject):
    async def work(nc, js):
        js = nc.jetstream(timeout=JS_TIMEOUT)
        for index in range(10):
            await publish_when_ready(js, subject, f"again {index}".encode())
        return 10

    return work


def test_a_nats_channel_publishes_the_alert_on_the_teams_account(fleet, nats_cluster, celery_worker):
    cluster, accounts, _ = fleet
    team_a = accounts["TEAM_A"].grants.get().team
    services.add_channel(team=team_a, kind=ChannelKind.NATS, name="bus", account_id=accounts["TEAM_A"].pk,
                         subject="natsdash.alerts")
    with NatsListener(nats_cluster, "TEAM_A", "natsdash.alerts") as listener:
        alert = fire_and_resolve(nats_cluster, cluster, "BUSLOG")
        wait_for(lambda: len([m for m in listener.messages if m["body"]["alert"]["id"] == alert.pk]) >= 2,
                 timeout=60, what="two messages on natsdash.alerts")
    mine = [m for m in listener.messages if m["body"]["alert"]["id"] == alert.pk]
    assert sorted(m["body"]["transition"] for m in mine) == ["fired", "resolved"]
    assert all(m["body"]["account"] == "TEAM_A" and m["body"]["alert"]["target"] == "BUSLOG/work" for m in mine)
    assert all(m["headers"].get("Content-Type") == "application/json" for m in mine)
    statuses = set(Delivery.objects.filter(alert_id=alert.pk).values_list("status", "attempts"))
    assert statuses == {(DeliveryStatus.DELIVERED, 1)}


def test_a_nats_channel_stops_publishing_once_its_grant_is_revoked(fleet, nats_cluster):
    """Attempts run in this process (no worker): the first publishes, the one after the grant is
    gone is failed without publishing."""
    cluster, accounts, _ = fleet
    team_a = accounts["TEAM_A"].grants.get().team
    channel = services.add_channel(team=team_a, kind=ChannelKind.NATS, name="bus", account_id=accounts["TEAM_A"].pk,
                                   subject="natsdash.revoked")

    def delivery(alert_id):
        return Delivery.objects.create(team=team_a, channel=channel, channel_name=channel.name, alert_id=alert_id,
                                       cluster=cluster, account="TEAM_A", check_name=CHECK,
                                       transition=Transition.FIRED, transition_at=timezone.now(),
                                       payload={"alert": {"id": alert_id}})

    with NatsListener(nats_cluster, "TEAM_A", "natsdash.revoked") as listener:
        granted = delivery(1)
        assert services.attempt_delivery(delivery_id=granted.pk) is None
        wait_for(lambda: listener.messages, timeout=20, what="the message of the granted delivery")

        accounts["TEAM_A"].grants.filter(team=team_a).delete()  # bypassing revoke_grant: the channel stays enabled
        revoked = delivery(2)
        assert services.attempt_delivery(delivery_id=revoked.pk) is None
        revoked.refresh_from_db()
        assert (revoked.status, revoked.attempts) == (DeliveryStatus.FAILED, 1)
        assert revoked.last_error == "the team no longer holds a grant on lab/TEAM_A"
        # Granted again, the next one arrives: had the revoked one been published, it would be before it.
        check = delivery(3)
        TeamGrant.objects.create(team=team_a, account=accounts["TEAM_A"])
        assert services.attempt_delivery(delivery_id=check.pk) is None
        wait_for(lambda: any(m["body"]["delivery"] == check.pk for m in listener.messages), timeout=20,
                 what="the message of the delivery after the grant came back")
    assert [m["body"]["delivery"] for m in listener.messages] == [granted.pk, check.pk]
