"""/metrics after real polls of a real cluster: parsed with prometheus-client's own parser, its
values equal the JSON API's, scoped to the token's user, bounded by the settings."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig
from prometheus_client.parser import text_string_to_metric_families

from alerts.models import Alert, AlertState
from alerts.services import set_threshold
from clusters import polling
from tests.support.fleet import fetch_when_led, publish_when_ready, register_fleet, run_nats

pytestmark = pytest.mark.django_db(transaction=True)

JS_TIMEOUT = 20.0  # the test's own JetStream calls, on a machine other test runs share


@pytest.fixture
def polled(nats_cluster, make_user):
    """TEAM_A: ORDERS with consumers `fast` (read 3 of 7, acked) and `idle`; TEAM_B: SENSORS."""
    cluster, _, users = register_fleet(nats_cluster, make_user)

    async def team_a(nc, js):
        js = nc.jetstream(timeout=JS_TIMEOUT)
        await js.add_stream(StreamConfig(name="ORDERS", subjects=["orders.>"], num_replicas=3))
        await js.add_consumer("ORDERS", ConsumerConfig(durable_name="idle", ack_policy=AckPolicy.EXPLICIT))
        for index in range(7):
            await publish_when_ready(js, "orders.new", f"order {index}".encode())
        fast = await js.pull_subscribe("orders.>", durable="fast", stream="ORDERS")
        for message in await fetch_when_led(fast, 3):
            await message.ack()

    async def team_b(nc, js):
        js = nc.jetstream(timeout=JS_TIMEOUT)
        await js.add_stream(StreamConfig(name="SENSORS", subjects=["sensors.>"], num_replicas=1))
        await js.add_consumer("SENSORS", ConsumerConfig(durable_name="dashboard", ack_policy=AckPolicy.EXPLICIT))
        for index in range(4):
            await publish_when_ready(js, "sensors.t", f"{index}".encode())

    run_nats(nats_cluster, "TEAM_A", team_a)
    run_nats(nats_cluster, "TEAM_B", team_b)
    with override_settings(ALERT_FOR_SECONDS=0.0, ALERT_FOR_SECONDS_BY_CHECK={}, ALERT_NODE_RESTART_SECONDS=0.0,
                           ALERT_NODE_CPU_WARNING=0.0, ALERT_NODE_CPU_CRITICAL=0.0):
        set_threshold(cluster=cluster, check="consumer.num_pending", account="TEAM_A", stream="ORDERS",
                      consumer="idle", warning=5, critical=None)
        polling.poll_cluster(cluster.pk)
        polling.poll_cluster(cluster.pk)  # a second poll: rates
    yield cluster, users

    for account in ("TEAM_A", "TEAM_B"):
        async def clean(nc, js):
            js = nc.jetstream(timeout=JS_TIMEOUT)
            for info in await js.streams_info():
                await js.delete_stream(info.config.name)

        run_nats(nats_cluster, account, clean)


def token_of(username: str) -> str:
    out = StringIO()
    call_command("api_token", username, stdout=out)
    return out.getvalue().strip()


def scrape(token: str) -> dict[str, dict[tuple, float]]:
    response = Client().get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    families = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            families.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return families


def api(path: str, token: str) -> dict:
    response = Client().get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.content
    return response.json()


def value(families, name, **labels):
    return families[name][tuple(sorted(labels.items()))]


def test_metrics_equal_the_api_after_a_real_poll(polled):
    token = token_of("olga")  # operator of team-a: TEAM_A only
    families = scrape(token)
    cluster = api("/api/clusters/lab/", token)
    assert len(cluster["nodes"]) == 3
    for node in cluster["nodes"]:
        labels = {"cluster": "lab", "node": node["name"]}
        assert value(families, "natsdash_node_up", **labels) == 1
        figures = node["figures"]
        for metric, key in (("natsdash_node_connections", "connections"), ("natsdash_node_subscriptions", "subscriptions"),
                            ("natsdash_node_msgs_in_per_second", "msgs_in_per_s"),
                            ("natsdash_node_bytes_out_per_second", "bytes_out_per_s"),
                            ("natsdash_node_memory_bytes", "mem"), ("natsdash_node_routes", "routes")):
            assert figures[key] is not None, key
            assert value(families, metric, **labels) == pytest.approx(figures[key]), metric
    assert value(families, "natsdash_cluster_nodes_up", cluster="lab") == cluster["nodes_up"] == 3
    assert value(families, "natsdash_cluster_healthy", cluster="lab", status=cluster["status"]) == 1

    topology = api("/api/clusters/lab/topology", token)
    routes = [e for e in topology["edges"] if e["kind"] == "route"]
    assert len(routes) == 3
    for edge in routes:
        labels = {"cluster": "lab", "source": edge["source"], "target": edge["target"]}
        assert value(families, "natsdash_route_connections", **labels) == edge["connections"]
        assert value(families, "natsdash_route_rtt_seconds", **labels) == pytest.approx(edge["rtt_us"] / 1e6)

    streams = api("/api/clusters/lab/streams", token)["streams"]
    assert [s["name"] for s in streams] == ["ORDERS"]
    orders = streams[0]
    labels = {"cluster": "lab", "account": "TEAM_A", "stream": "ORDERS"}
    assert value(families, "natsdash_stream_messages", **labels) == orders["messages"] == 7
    assert value(families, "natsdash_stream_bytes", **labels) == orders["bytes"] > 0
    consumers = {c["name"]: c for c in orders["consumers"]}
    assert consumers["idle"]["num_pending"] == 7 and consumers["fast"]["num_pending"] == 4
    for name, consumer in consumers.items():
        for metric in ("num_pending", "num_ack_pending", "num_redelivered"):
            assert value(families, f"natsdash_consumer_{metric}", consumer=name, **labels) == consumer[metric]

    # The alert the idle consumer's backlog fired, as the alerts API shows it.
    alert = Alert.objects.get(check_name="consumer.num_pending", target="ORDERS/idle")
    assert alert.state == AlertState.FIRING
    assert value(families, "natsdash_alert_firing", cluster="lab", account="TEAM_A", check="consumer.num_pending",
                 target="ORDERS/idle", severity="warning") == 1

    # TEAM_B is not team-a's: none of its series are there.
    assert not any(("account", "TEAM_B") in key for series in families.values() for key in series)


def test_metrics_are_scoped_to_the_tokens_user(polled):
    outsider = scrape(token_of("bert"))  # team-b
    assert {dict(k)["stream"] for k in outsider["natsdash_stream_messages"]} == {"SENSORS"}
    assert value(outsider, "natsdash_stream_messages", cluster="lab", account="TEAM_B", stream="SENSORS") == 4
    assert "natsdash_alert_firing" not in outsider  # the TEAM_A alert is not theirs
    root = scrape(token_of("root"))
    assert {dict(k)["stream"] for k in root["natsdash_stream_messages"]} == {"ORDERS", "SENSORS"}


def test_metrics_need_a_token_or_a_session(polled):
    assert Client().get("/metrics").status_code == 401
    bad = Client().get("/metrics", headers={"Authorization": "Bearer nd_not-a-token"})
    assert bad.status_code == 401 and bad["WWW-Authenticate"].startswith("Bearer")
    client = Client()
    client.force_login(polled[1]["viewer"])
    assert client.get("/metrics").status_code == 200


def test_consumer_labels_off_and_the_series_cap(polled):
    token = token_of("root")
    with override_settings(METRICS_CONSUMER_LABELS=False):
        families = scrape(token)
    pending = families["natsdash_consumer_num_pending"]
    assert all("consumer" not in dict(labels) for labels in pending)
    assert value(families, "natsdash_consumer_num_pending", cluster="lab", account="TEAM_A", stream="ORDERS") == 11

    with override_settings(METRICS_MAX_SERIES=2):
        capped = scrape(token)
    assert len(capped["natsdash_node_up"]) == 2
    assert value(capped, "natsdash_metrics_series_dropped", family="natsdash_node_up") == 1
    assert len(capped["natsdash_consumer_num_pending"]) == 2
    assert value(capped, "natsdash_metrics_series_dropped", family="natsdash_consumer_num_pending") == 1
