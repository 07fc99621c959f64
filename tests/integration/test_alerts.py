"""Health checks and alerts on a real 3-node cluster: a consumer left with a backlog, a killed node,
io.nats.monitor.* metadata, and who sees which alerts."""

import asyncio
import json
import time

import pytest
import websockets
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.test import Client, override_settings
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig

from alerts import services as alert_services
from alerts.models import Alert, AlertState, ClusterHealth, Threshold
from alerts.signals import alert_fired, alert_resolved
from clusters import polling
from clusters.live import cluster_group
from core.live import FLEET_GROUP, push_after_commit
from tests.support.fleet import delete_all_streams, publish_when_ready, register_fleet, run_nats

pytestmark = pytest.mark.django_db(transaction=True)

# Tiny rule periods so a test sees pending -> firing -> resolved within seconds.
QUICK = override_settings(ALERT_FOR_SECONDS=2.0, ALERT_RESOLVE_SECONDS=1.0, ALERT_FOR_SECONDS_BY_CHECK={})


@pytest.fixture
def fleet(nats_cluster, make_user):
    cluster, accounts, users = register_fleet(nats_cluster, make_user)
    yield cluster, accounts, users
    for index in range(nats_cluster.size):  # leave the module's cluster whole for the next test
        if index not in nats_cluster.alive_indexes():
            nats_cluster.restart_node(index)
    delete_all_streams(nats_cluster)


@pytest.fixture
def signals_seen():
    seen = []

    def fired(sender, alert, **kwargs):
        seen.append(("fired", alert.key, alert.state))

    def resolved(sender, alert, **kwargs):
        seen.append(("resolved", alert.key, alert.state))

    alert_fired.connect(fired)
    alert_resolved.connect(resolved)
    yield seen
    alert_fired.disconnect(fired)
    alert_resolved.disconnect(resolved)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def poll_until(cluster, done, timeout: float = 40.0, what: str = ""):
    """Poll (which evaluates the checks) until done() holds; fails with the latest checks."""
    deadline = time.monotonic() + timeout
    while True:
        polling.poll_cluster(cluster.pk)
        result = done()
        if result:
            return result
        if time.monotonic() > deadline:
            health = ClusterHealth.objects.filter(cluster=cluster).first()
            failing = [r["key"] + " " + r["state"] for r in (health.results if health else []) if r["state"] != "ok"]
            alerts = list(Alert.objects.filter(cluster=cluster).values_list("key", "state"))
            raise AssertionError(f"timed out waiting for {what}; failing checks {failing}; alerts {alerts}")
        time.sleep(0.3)


def check(cluster, key: str) -> dict | None:
    """The stored result of a check (fine stream and consumer checks are only counted)."""
    health = ClusterHealth.objects.get(cluster=cluster)
    return next((r for r in health.results if r["key"] == key), None)


def fine(cluster, key: str) -> bool:
    """The check ran and is fine: stored as ok, or counted among its account's fine results."""
    health = ClusterHealth.objects.get(cluster=cluster)
    stored = check(cluster, key)
    if stored is not None:
        return stored["state"] == "ok"
    name, _, target = key.partition("|")
    account = target.split("/", 1)[0]
    return health.ok_counts.get(account, {}).get(name, 0) > 0


def open_alert(cluster, key: str, state=None):
    alerts = Alert.objects.filter(cluster=cluster, key=key)
    return alerts.filter(state=state).first() if state else alerts.exclude(state=AlertState.RESOLVED).first()


def make_stream_with_consumer(nats_cluster, *, account="TEAM_A", name="ORDERS", messages=10, replicas=1,
                              stream_metadata=None, consumer_metadata=None):
    async def work(nc, js):
        await js.add_stream(StreamConfig(name=name, subjects=[f"{name.lower()}.>"], num_replicas=replicas,
                                         metadata=stream_metadata))
        await js.add_consumer(name, ConsumerConfig(durable_name="audit", ack_policy=AckPolicy.EXPLICIT,
                                                   ack_wait=60, metadata=consumer_metadata))
        for i in range(messages):
            await publish_when_ready(js, f"{name.lower()}.{i % 3}", b"x")

    run_nats(nats_cluster, account, work)


def drain(nats_cluster, *, account="TEAM_A", name="ORDERS", count=10):
    async def work(nc, js):
        from nats.js.errors import ServiceUnavailableError

        sub = await js.pull_subscribe_bind(durable="audit", stream=name)
        done = 0
        while done < count:
            try:
                batch = await sub.fetch(count - done, timeout=5)
            except ServiceUnavailableError:
                await asyncio.sleep(0.25)
                continue
            for message in batch:
                await message.ack_sync()
            done += len(batch)

    run_nats(nats_cluster, account, work)


def listen(*groups):
    """A channel in the given groups; returns a function that collects what arrived."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    for group in groups:
        async_to_sync(layer.group_add)(group, channel)

    def received(timeout: float = 5.0) -> list[dict]:
        async def collect():
            messages = []
            try:
                while True:
                    messages.append(await asyncio.wait_for(layer.receive(channel), timeout=timeout))
                    timeout_left = 0.2  # after the first, take what is queued
                    await asyncio.sleep(0)
                    while True:
                        messages.append(await asyncio.wait_for(layer.receive(channel), timeout=timeout_left))
            except TimeoutError:
                return messages

        return async_to_sync(collect)()

    return received


@QUICK
def test_a_consumer_left_with_a_backlog_goes_from_warning_to_firing_and_resolves_when_drained(
        fleet, nats_cluster, signals_seen):
    cluster, accounts, users = fleet
    # The UI threshold of this one consumer: warning at 5 pending (the default is 1,000).
    alert_services.set_threshold(cluster=cluster, check="consumer.num_pending", account="TEAM_A", stream="ORDERS",
                                 consumer="audit", warning=5, critical=1000)
    make_stream_with_consumer(nats_cluster, messages=10)
    key = "consumer.num_pending|TEAM_A/ORDERS/audit"

    first = poll_until(cluster, lambda: open_alert(cluster, key), what="a pending alert")
    assert first.state == AlertState.PENDING
    result = check(cluster, key)
    assert (result["state"], result["value"], result["threshold"]) == ("warning", 10, 5)
    assert result["figures"]["threshold_source"] == "override"
    assert (first.account, first.check_name, first.target) == ("TEAM_A", "consumer.num_pending", "ORDERS/audit")
    assert signals_seen == []

    received = listen(cluster_group(cluster.pk), FLEET_GROUP)
    fired = poll_until(cluster, lambda: open_alert(cluster, key, AlertState.FIRING), what="the alert to fire")
    assert (fired.fired_at - fired.started_at).total_seconds() >= 2.0  # held for the rule's period
    assert fired.pk == first.pk and fired.severity == "warning" and fired.peak == 10
    assert ("fired", key, "firing") in signals_seen
    pushed = [m for m in received() if m["event"] == "alert"]
    assert {"state": "firing"} in [m["data"] for m in pushed]  # the fleet's nudge: no names
    assert all("ORDERS" not in str(m["data"]) for m in pushed)  # account alerts stay unnamed
    body = client_for(users["viewer"]).get("/api/alerts/").json()
    assert key in [a["key"] for a in body["firing"]] and body["firing_count"] >= 1

    drain(nats_cluster, count=10)
    resolved = poll_until(cluster, lambda: Alert.objects.filter(pk=fired.pk, state=AlertState.RESOLVED).first(),
                          what="the alert to resolve")
    assert check(cluster, key) is None and fine(cluster, key)
    assert resolved.ok_since > resolved.fired_at
    assert (resolved.resolved_at - resolved.ok_since).total_seconds() >= 1.0
    assert resolved.peak == 10 and resolved.value == 0
    assert ("resolved", key, "resolved") in signals_seen
    assert not Alert.objects.filter(cluster=cluster, key=key).exclude(pk=fired.pk).exists()  # one alert, no storm


@QUICK
def test_a_killed_node_fires_a_node_and_a_mesh_alert_and_both_resolve_on_restart(fleet, nats_cluster, signals_seen):
    cluster, accounts, users = fleet
    polling.poll_cluster(cluster.pk)
    assert check(cluster, "mesh.partial|routes")["state"] == "ok"
    assert check(cluster, "node.unreachable|n3")["state"] == "ok"

    nats_cluster.kill_node(2)
    node_key, mesh_key = "node.unreachable|n3", "mesh.partial|routes"
    poll_until(cluster, lambda: open_alert(cluster, node_key, AlertState.FIRING)
               and open_alert(cluster, mesh_key, AlertState.FIRING), what="node and mesh alerts to fire")
    node_alert, mesh_alert = open_alert(cluster, node_key), open_alert(cluster, mesh_key)
    assert node_alert.severity == mesh_alert.severity == "critical"
    assert node_alert.account == mesh_alert.account == ""
    assert "n3" in node_alert.message and "n3" in mesh_alert.message
    assert mesh_alert.value == 2  # n1-n3 and n2-n3 have no route
    assert {("fired", node_key, "firing"), ("fired", mesh_key, "firing")} <= set(signals_seen)
    # A member of either team sees cluster-wide alerts.
    outsider = client_for(users["outsider"]).get("/api/alerts/").json()
    assert {node_key, mesh_key} <= {a["key"] for a in outsider["firing"]}

    nats_cluster.restart_node(2)
    poll_until(cluster, lambda: Alert.objects.filter(pk__in=[node_alert.pk, mesh_alert.pk],
                                                     state=AlertState.RESOLVED).count() == 2,
               what="node and mesh alerts to resolve")
    assert check(cluster, node_key)["state"] == "ok" and check(cluster, mesh_key)["state"] == "ok"
    assert {("resolved", node_key, "resolved"), ("resolved", mesh_key, "resolved")} <= set(signals_seen)
    # The restart itself is seen: n3 started anew.
    assert check(cluster, "node.restarted|n3") is not None


@override_settings(ALERT_FOR_SECONDS=0.0, ALERT_FOR_SECONDS_BY_CHECK={})
def test_thresholds_from_io_nats_monitor_metadata_are_honoured(fleet, nats_cluster):
    cluster, accounts, users = fleet
    make_stream_with_consumer(
        nats_cluster, messages=6,
        stream_metadata={"io.nats.monitor.msgs-warn": "5", "io.nats.monitor.msgs-critical": "100"},
        consumer_metadata={"io.nats.monitor.unprocessed-critical": "4", "io.nats.monitor.last-ack-warn": "1h"})
    pending_key = "consumer.num_pending|TEAM_A/ORDERS/audit"
    poll_until(cluster, lambda: (check(cluster, pending_key) or {}).get("value") == 6, what="the consumer's figures")

    pending = check(cluster, pending_key)
    assert (pending["state"], pending["threshold"], pending["figures"]["threshold_source"]) == ("critical", 4, "metadata")
    messages = check(cluster, "stream.messages|TEAM_A/ORDERS")
    assert (messages["state"], messages["threshold"]) == ("warning", 5)
    never_acked = check(cluster, "consumer.last_ack|TEAM_A/ORDERS/audit")
    assert never_acked["state"] == "warning" and "no last ack" in never_acked["message"]
    alert = open_alert(cluster, pending_key)
    assert (alert.state, alert.severity, alert.threshold) == (AlertState.FIRING, "critical", 4)

    # An explicit threshold from the UI wins over the metadata.
    alert_services.set_threshold(cluster=cluster, check="consumer.num_pending", account="TEAM_A", stream="ORDERS",
                                 warning=None, critical=50)
    polling.poll_cluster(cluster.pk)
    assert check(cluster, pending_key) is None and fine(cluster, pending_key)


@override_settings(ALERT_FOR_SECONDS=0.0, ALERT_FOR_SECONDS_BY_CHECK={})
def test_a_team_sees_only_its_accounts_alerts(fleet, nats_cluster):
    cluster, accounts, users = fleet
    make_stream_with_consumer(nats_cluster, messages=3, consumer_metadata={"io.nats.monitor.unprocessed-warn": "1"})
    make_stream_with_consumer(nats_cluster, account="TEAM_B", name="SENSORS", messages=3,
                              consumer_metadata={"io.nats.monitor.unprocessed-warn": "1"})
    key_a, key_b = "consumer.num_pending|TEAM_A/ORDERS/audit", "consumer.num_pending|TEAM_B/SENSORS/audit"
    poll_until(cluster, lambda: open_alert(cluster, key_a, AlertState.FIRING)
               and open_alert(cluster, key_b, AlertState.FIRING), what="both teams' alerts")

    team_a = client_for(users["viewer"])
    team_b = client_for(users["outsider"])
    root = client_for(users["root"])
    seen_by = {name: {a["key"] for a in client.get("/api/alerts/").json()["firing"]}
               for name, client in (("a", team_a), ("b", team_b), ("root", root))}
    assert key_a in seen_by["a"] and key_b not in seen_by["a"]
    assert key_b in seen_by["b"] and key_a not in seen_by["b"]
    assert {key_a, key_b} <= seen_by["root"]

    page_a, page_b = team_a.get("/clusters/lab/health/"), team_b.get("/clusters/lab/health/")
    assert page_a.status_code == page_b.status_code == 200
    assert "ORDERS/audit" in page_a.content.decode() and "SENSORS" not in page_a.content.decode()
    assert "SENSORS/audit" in page_b.content.decode() and "ORDERS" not in page_b.content.decode()
    assert "WARNING  consumer.num_pending TEAM_A/ORDERS/audit" in page_a.content.decode()
    checks_b = team_b.get("/api/clusters/lab/checks").json()["checks"]
    assert {r["account"] for r in checks_b} <= {"", "TEAM_B"} and any(r["account"] == "TEAM_B" for r in checks_b)
    # The badge counts only what the user may see.
    assert page_a.context["firing_alerts"] == len(seen_by["a"])
    assert page_b.context["firing_alerts"] == len(seen_by["b"])


def session_cookie(user) -> str:
    return f"sessionid={client_for(user).cookies['sessionid'].value}"


def in_a_thread_of_its_own(work):
    """Run Django work from an async test: in a worker thread, closing that thread's connection."""
    def run():
        try:
            return work()
        finally:
            connection.close()

    return asyncio.to_thread(run)


# Only the consumer check may fire within the test: a transient cluster-wide alert (which every team
# may see) would blur what the sockets received.
@override_settings(ALERT_FOR_SECONDS=3600.0, ALERT_FOR_SECONDS_BY_CHECK={"consumer.num_pending": 0.0})
async def test_an_accounts_alert_is_pushed_only_to_who_may_see_that_account(fleet, nats_cluster, daphne_server,
                                                                            make_user):
    """Every socket is in the fleet group, and both teams' sockets in the cluster's group: the scope of
    the alert's pushes decides who hears of it."""
    cluster, accounts, users = fleet
    stranger = await in_a_thread_of_its_own(lambda: make_user("nobody"))  # sees no cluster at all
    cookies = {who: await in_a_thread_of_its_own(lambda user=user: session_cookie(user))
               for who, user in (("team_a", users["viewer"]), ("team_b", users["outsider"]), ("stranger", stranger))}
    paths = {"team_a": "/ws/clusters/lab/", "team_b": "/ws/clusters/lab/", "stranger": "/ws/updates/"}
    sockets = {}
    try:
        for who, path in paths.items():
            sockets[who] = await websockets.connect(
                f"{daphne_server.ws_url}{path}", open_timeout=10,
                additional_headers={"Origin": daphne_server.url, "Cookie": cookies[who]})
            assert json.loads(await asyncio.wait_for(sockets[who].recv(), 10))["event"] == "hello"

        await asyncio.to_thread(make_stream_with_consumer, nats_cluster, messages=3,
                                consumer_metadata={"io.nats.monitor.unprocessed-warn": "1"})
        key = "consumer.num_pending|TEAM_A/ORDERS/audit"
        await in_a_thread_of_its_own(lambda: poll_until(cluster, lambda: open_alert(cluster, key, AlertState.FIRING),
                                                        what="TEAM_A's alert to fire"))
        await in_a_thread_of_its_own(lambda: push_after_commit(FLEET_GROUP, "for-everyone", {}))

        received = {}
        for who, socket in sockets.items():
            events = []
            while not events or events[-1]["event"] != "for-everyone":  # pushes arrive in order: this one last
                events.append(json.loads(await asyncio.wait_for(socket.recv(), 15)))
            received[who] = [e for e in events if e["event"] == "alert"]
    finally:
        for socket in sockets.values():
            await socket.close()

    firing = [e["data"] for e in received["team_a"] if e["data"].get("state") == "firing"]
    assert {"state": "firing"} in firing  # the fleet group's nudge
    assert {"cluster_id": cluster.pk, "state": "firing", "severity": "warning"} in firing  # the cluster group's
    assert received["team_b"] == [] and received["stranger"] == []


def test_thresholds_are_set_by_operators_and_superusers_only(fleet, make_user):
    cluster, accounts, users = fleet
    url = "/clusters/lab/health/thresholds/"
    body = {"check": "consumer.num_pending", "account": "TEAM_A", "stream": "ORDERS", "consumer": "audit",
            "warning": "5", "critical": "50"}
    assert client_for(users["viewer"]).post(url, body).status_code == 403
    assert client_for(users["outsider"]).post(url, body).status_code == 404  # TEAM_A is not theirs
    stranger = make_user("nobody")
    assert client_for(stranger).post(url, body).status_code == 404  # not even the cluster
    cluster_wide = {"check": "node.cpu", "warning": "50", "critical": ""}
    assert client_for(users["viewer"]).post(url, cluster_wide).status_code == 403
    refused = client_for(users["operator"]).post(url, cluster_wide, follow=True)  # superusers only
    assert "cluster-wide thresholds are set by superusers" in refused.content.decode()
    assert not Threshold.objects.exists()

    operator = client_for(users["operator"])
    response = operator.post(url, body, follow=True)
    assert response.redirect_chain[-1][0] == "/clusters/lab/health/"
    threshold = Threshold.objects.get()
    assert (threshold.warning, threshold.critical, threshold.scope) == (5, 50, "TEAM_A/ORDERS/audit")

    for bad, says in (({"warning": "lots"}, "warning must be a number"), ({"check": "node.bogus"}, "unknown check"),
                      ({"warning": "-1"}, "0 or more"), ({"stream": ""}, "a consumer needs its stream")):
        response = operator.post(url, {**body, **bad}, follow=True)
        assert says in response.content.decode()
        assert Threshold.objects.get() == threshold and Threshold.objects.get().warning == 5  # unchanged

    assert operator.post(url, {**body, "remove": "1"}).status_code == 302
    assert not Threshold.objects.exists()
    root = client_for(users["root"])
    assert root.post(url, cluster_wide).status_code == 302
    assert Threshold.objects.get().scope == "whole cluster"
