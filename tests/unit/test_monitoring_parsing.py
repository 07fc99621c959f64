"""Monitoring JSON recorded from real nats-server 2.9 and 2.15 clusters parses to what was built.

The fixtures and their scenario.json come from `python -m devstack.record_monitoring`: a
3-node cluster "hub" (n1..n3, JetStream) with a gateway to a 1-node cluster "edge" (e1, no
JetStream) and a leaf server "leaf1" connected to n1 in TEAM_A; an R3 file stream ORDERS
(50 messages) with consumers that acked 20 ("processor"), never read ("auditor") and acked
10 ("shipper"), the first two led by the stream's leader and "shipper" by another node; an
R1 memory stream EVENTS in TEAM_B; then one hub node killed. Expectations come from the
scenario and from what the JetStream API said while recording.
"""

import json
import math
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path

import pytest

from clusters.monitoring import (
    UNLIMITED_U64,
    AccountJetStream,
    Healthz,
    Jsz,
    NodeSnapshot,
    StreamState,
    Varz,
    parse_consumer,
    parse_gatewayz,
    parse_healthz,
    parse_jsz,
    parse_leafz,
    parse_routez,
    parse_rtt_us,
    parse_stream,
    parse_time,
    parse_varz,
    streams_by_leader,
    with_peer_names,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "monitoring"
VERSIONS = ["v2.9", "v2.15"]
HUB, EDGE, LEAF = "hub", "edge", "leaf1"
STREAM, ACKED_CONSUMER, UNREAD_CONSUMER, APART_CONSUMER = "ORDERS", "processor", "auditor", "shipper"
MESSAGES, ACKED = 50, 20


@cache
def scenario(version: str) -> dict:
    return json.loads((FIXTURES / version / "scenario.json").read_text(encoding="utf-8"))


@cache
def raw(version: str, server: str, endpoint: str, after_kill: bool = False) -> dict:
    folder = FIXTURES / version / ("after-kill" if after_kill else "") / server
    return json.loads((folder / f"{endpoint}.json").read_text(encoding="utf-8"))


def snapshot(version: str, server: str, *, after_kill: bool = False, jsz: str = "jsz") -> NodeSnapshot:
    """What fetch_node would have built from the recorded answers."""
    def body(endpoint):
        return raw(version, server, endpoint, after_kill)

    healthz = body("healthz")
    return NodeSnapshot(
        monitor_url=f"http://{server}.invalid:8222",
        fetched_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
        elapsed_ms=1.0,
        varz=parse_varz(body("varz")),
        routes=parse_routez(body("routez")),
        gateways=parse_gatewayz(body("gatewayz")),
        leafs=parse_leafz(body("leafz")),
        healthz=parse_healthz(200 if healthz.get("status") == "ok" else 503, healthz),
        jsz=parse_jsz(body(jsz)),
    )


def hub_nodes(version: str) -> list[str]:
    return scenario(version)["nodes"]


def stream_named(jsz: Jsz, account: str, name: str) -> StreamState:
    [stream] = [s for a in jsz.accounts if a.name == account for s in a.streams if s.name == name]
    return stream


def consumers_of(stream: StreamState) -> dict:
    return {consumer.name: consumer for consumer in stream.consumers}


@pytest.fixture(params=VERSIONS)
def version(request) -> str:
    return request.param


# -- the recorded scenario -----------------------------------------------------------------


def test_the_recordings_cover_both_server_versions():
    assert scenario("v2.9")["version"].startswith("2.9.")
    assert scenario("v2.15")["version"].startswith("2.15.")


def test_every_server_reports_its_own_name_cluster_and_version(version):
    built = scenario(version)
    # A lone server has no cluster; 2.9 names one after the server anyway.
    servers = {**{name: HUB for name in built["nodes"]}, **{name: EDGE for name in built["gateway"]["nodes"]},
               LEAF: LEAF if version == "v2.9" else ""}
    server_ids = set()
    for name, cluster in servers.items():
        node = snapshot(version, name)
        assert node.up and node.server_name == name
        assert node.varz.version == built["version"]
        assert node.varz.cluster_name == cluster
        assert node.varz.server_id.startswith("N") and len(node.varz.server_id) == 56
        assert node.varz.start is not None and node.varz.now is not None and node.varz.start < node.varz.now
        assert node.varz.host == "127.0.0.1" and node.varz.port > 0
        assert node.varz.max_payload == 1024 * 1024 or name == LEAF
        assert node.healthz == Healthz(ok=True, status="ok", error="")
        server_ids.add(node.varz.server_id)
    assert len(server_ids) == len(servers)


def test_route_peers_per_node(version):
    nodes = hub_nodes(version)
    ids = {snapshot(version, name).varz.server_id: name for name in nodes}
    for node in with_peer_names(snapshot(version, name) for name in nodes):
        name = node.server_name
        assert {route.peer for route in node.routes} == set(nodes) - {name}
        assert {route.remote_name for route in node.routes} == set(nodes) - {name}
        assert {ids[route.remote_id] for route in node.routes} == set(nodes) - {name}
        assert node.varz.routes == len(node.routes)
        assert node.varz.cluster_urls and all(url.startswith("127.0.0.1:") for url in node.varz.cluster_urls)
        for route in node.routes:
            assert route.ip == "127.0.0.1" and route.port > 0
            assert route.rtt_us is not None and route.rtt_us >= 0
    for lone in (*scenario(version)["gateway"]["nodes"], LEAF):
        assert snapshot(version, lone).routes == ()


def test_pooled_routes_on_2_15_several_connections_per_peer_one_pinned_to_the_system_account():
    nodes = hub_nodes("v2.15")
    for name in nodes:
        node = snapshot("v2.15", name)
        assert node.varz.remotes == len(nodes) - 1
        assert node.varz.pool_size == 3
        per_peer = {peer: [r for r in node.routes if r.peer == peer] for peer in set(nodes) - {name}}
        for peer, routes in per_peer.items():
            assert len(routes) == node.varz.pool_size + 1, peer
            assert [r.pinned_account for r in routes if r.pinned_account] == ["SYS"], peer
            assert len({r.remote_id for r in routes}) == 1  # one peer, several connections
        assert node.varz.routes == len(node.routes) > node.varz.remotes


def test_2_9_has_one_route_per_peer_and_no_pool_size():
    nodes = hub_nodes("v2.9")
    for name in nodes:
        node = snapshot("v2.9", name)
        assert "pool_size" not in raw("v2.9", name, "varz")["cluster"]
        assert node.varz.pool_size is None
        assert len(node.routes) == len(nodes) - 1 == node.varz.routes
        assert all(route.pinned_account == "" for route in node.routes)
        # 2.9.10 already reports remotes (one route per peer, so it equals routes).
        assert node.varz.remotes == len(nodes) - 1


def test_remotes_and_pool_size_are_none_when_the_server_does_not_report_them():
    body = {key: value for key, value in raw("v2.9", hub_nodes("v2.9")[0], "varz").items() if key != "remotes"}
    varz = parse_varz(body)
    assert varz.remotes is None and varz.pool_size is None
    assert varz.routes == len(hub_nodes("v2.9")) - 1


def test_2_9_routes_know_their_peer_by_server_id_only_until_named_by_the_peers_varz():
    nodes = hub_nodes("v2.9")
    ids = {snapshot("v2.9", name).varz.server_id for name in nodes}
    for name in nodes:
        node = snapshot("v2.9", name)
        assert all(route.remote_name == "" for route in node.routes)
        assert {route.peer for route in node.routes} == ids - {node.varz.server_id}
    # A peer that was not polled stays known by its id.
    [lonely] = with_peer_names([snapshot("v2.9", nodes[0])])
    assert {route.peer for route in lonely.routes} == {route.remote_id for route in lonely.routes}


def test_gateway_to_the_second_cluster(version):
    built = scenario(version)
    [edge_node] = built["gateway"]["nodes"]
    edge = snapshot(version, edge_node)
    hub_ids = {}
    for name in built["nodes"]:
        node = snapshot(version, name)
        hub_ids[name] = node.varz.server_id
        assert node.varz.gateway_name == HUB
        outbound = [g for g in node.gateways if g.direction == "outbound"]
        assert [(g.remote_cluster, g.remote_server_id) for g in outbound] == [(EDGE, edge.varz.server_id)]
        assert outbound[0].rtt_us is not None and outbound[0].port > 0
        assert all(g.remote_cluster == EDGE for g in node.gateways)
    assert edge.varz.gateway_name == EDGE
    [out] = [g for g in edge.gateways if g.direction == "outbound"]
    assert out.remote_cluster == HUB and out.remote_server_id in hub_ids.values()
    inbound = [g for g in edge.gateways if g.direction == "inbound"]
    assert {g.remote_cluster for g in inbound} == {HUB}
    assert sorted(g.remote_server_id for g in inbound) == sorted(hub_ids.values())
    assert snapshot(version, LEAF).gateways == ()


def test_the_leafnode_with_its_account(version):
    built = scenario(version)["leaf"]
    hub_node = snapshot(version, built["hub_node"])
    leaf = snapshot(version, LEAF)
    [connection] = hub_node.leafs
    assert connection.account == built["account"]
    assert connection.ip == "127.0.0.1" and connection.port > 0
    assert connection.rtt_us is not None
    assert not connection.is_spoke
    assert hub_node.varz.leafnodes == 1
    [own] = leaf.leafs
    assert own.account == built["local_account"]
    assert leaf.varz.leafnodes == 1
    if version == "v2.9":  # no names before 2.10: the address stands in
        assert connection.name == f"{connection.ip}:{connection.port}"
        assert own.name == f"{own.ip}:{own.port}"
    else:
        assert connection.name == LEAF
        assert own.name == built["hub_node"]
        assert own.is_spoke
    for other in set(hub_nodes(version)) - {built["hub_node"]}:
        assert snapshot(version, other).leafs == ()


def test_meta_leader_and_cluster_size(version):
    built = scenario(version)
    for name in built["nodes"]:
        jsz = snapshot(version, name).jsz
        assert jsz.enabled
        assert jsz.meta.name == HUB
        assert jsz.meta.leader == built["meta_leader"]
        assert jsz.meta.cluster_size == len(built["nodes"])
        assert jsz.max_memory == 256 * 1024 * 1024 and jsz.max_storage == 2 * 1024 ** 3
    leader = snapshot(version, built["meta_leader"]).jsz.meta
    assert {peer.name for peer in leader.replicas} == set(built["nodes"]) - {built["meta_leader"]}
    assert all(peer.current and not peer.offline for peer in leader.replicas)


def test_jetstream_disabled_where_it_is_not_configured(version):
    for name in (*scenario(version)["gateway"]["nodes"], LEAF):
        node = snapshot(version, name)
        assert not node.varz.jetstream_enabled
        assert node.jsz == parse_jsz(raw(version, name, "jsz"))
        assert not node.jsz.enabled and node.jsz.meta is None and node.jsz.accounts == ()


def test_the_orders_stream_on_its_leader(version):
    built = scenario(version)["jetstream"]
    leader = built["stream"]["leader"]
    stream = stream_named(snapshot(version, leader).jsz, "TEAM_A", STREAM)
    assert stream.leader == leader
    assert stream.messages == built["stream"]["messages"] == MESSAGES
    assert stream.num_replicas == built["stream"]["replicas"] == 3
    assert stream.subjects == tuple(built["stream"]["subjects"])
    assert stream.storage == built["stream"]["storage"] == "file"
    assert stream.retention == "limits" and stream.discard == "old"
    assert (stream.first_seq, stream.last_seq) == (1, MESSAGES)
    assert stream.first_ts is not None and stream.last_ts >= stream.first_ts
    assert stream.created is not None and stream.consumer_count == 3
    assert stream.max_msgs == -1 and stream.max_bytes == -1 and stream.max_age_ns == 0
    assert stream.num_subjects == 2 and stream.bytes > 0
    assert {p.name for p in stream.replicas} == set(hub_nodes(version)) - {leader}
    assert all(p.current and not p.offline for p in stream.replicas)

    consumers = consumers_of(stream)
    assert set(consumers) == {ACKED_CONSUMER, UNREAD_CONSUMER, APART_CONSUMER}
    # The recorder had the stream's leader lead these two: their figures are right here.
    unread = consumers[UNREAD_CONSUMER]
    assert unread.leader == leader == built["consumers"][UNREAD_CONSUMER]["leader"]
    assert unread.num_pending == built["consumers"][UNREAD_CONSUMER]["num_pending"] == MESSAGES
    assert unread.delivered_stream_seq == 0 and unread.ack_floor_stream_seq == 0
    acked = consumers[ACKED_CONSUMER]
    assert acked.leader == leader == built["consumers"][ACKED_CONSUMER]["leader"]
    assert acked.ack_floor_stream_seq == built["consumers"][ACKED_CONSUMER]["ack_floor_stream_seq"] == ACKED
    assert acked.ack_floor_consumer_seq == ACKED and acked.delivered_stream_seq == ACKED
    assert acked.num_pending == MESSAGES - ACKED
    assert acked.num_ack_pending == 0 and acked.num_redelivered == 0
    assert acked.ack_policy == "explicit" and acked.durable and not acked.paused
    assert acked.stream == STREAM and acked.last_active is not None


def test_2_15_reports_a_stream_only_on_its_leader_with_stream_leader_only():
    built = scenario("v2.15")["jetstream"]
    for name in hub_nodes("v2.15"):
        streams = {s.name for a in snapshot("v2.15", name).jsz.accounts for s in a.streams}
        assert (STREAM in streams) == (name == built["stream"]["leader"])


def test_2_9_ignores_stream_leader_only_and_every_replica_reports():
    for name in hub_nodes("v2.9"):
        assert stream_named(snapshot("v2.9", name).jsz, "TEAM_A", STREAM).messages == MESSAGES


def test_2_15_stream_leader_reports_zero_pending_for_a_consumer_led_elsewhere():
    """Why fetch_node does not ask for stream-leader-only: the one report it keeps can be wrong."""
    built = scenario("v2.15")["jetstream"]
    assert built["consumers"][APART_CONSUMER]["leader"] != built["stream"]["leader"]
    seen_by_stream_leader = consumers_of(stream_named(snapshot("v2.15", built["stream"]["leader"]).jsz,
                                                      "TEAM_A", STREAM))[APART_CONSUMER]
    assert seen_by_stream_leader.num_pending == 0 != built["consumers"][APART_CONSUMER]["num_pending"]


def test_only_each_consumers_leader_reports_its_figures_right(version):
    """2.15's followers report num_pending 0; 2.9's report whatever they knew when they last led."""
    api = scenario(version)["jetstream"]["consumers"]
    wrong = []
    for name in hub_nodes(version):
        for consumer in stream_named(snapshot(version, name, jsz="jsz-all").jsz, "TEAM_A", STREAM).consumers:
            right = (consumer.num_pending, consumer.ack_floor_stream_seq) == (
                api[consumer.name]["num_pending"], api[consumer.name]["ack_floor_stream_seq"])
            if consumer.leader == name:
                assert right, (name, consumer)
            elif not right:
                wrong.append((name, consumer.name))
    assert wrong


def test_consumer_figures_are_taken_from_each_consumers_own_leader(version):
    """The recorder had another node than the stream's leader lead "shipper": only that node has
    its figures right, so the merge must read every replica's report (no stream-leader-only)."""
    built = scenario(version)
    api = built["jetstream"]
    stream_leader = api["stream"]["leader"]
    assert api["consumers"][APART_CONSUMER]["leader"] != stream_leader
    assert api["consumers"][APART_CONSUMER]["num_pending"] == MESSAGES - built["consumer_acks"][APART_CONSUMER]

    merged = streams_by_leader(snapshot(version, name, jsz="jsz-all") for name in hub_nodes(version))
    orders = next(s for s in merged if (s.account, s.name) == ("TEAM_A", STREAM))
    assert orders.leader == stream_leader and orders.messages == MESSAGES
    assert set(consumers_of(orders)) == set(api["consumers"]) == set(built["consumer_acks"])
    for durable, expected in api["consumers"].items():
        consumer = consumers_of(orders)[durable]
        assert consumer.leader == expected["leader"]
        assert consumer.num_pending == expected["num_pending"] == MESSAGES - built["consumer_acks"][durable]
        assert consumer.num_ack_pending == expected["num_ack_pending"] == 0
        assert consumer.ack_floor_stream_seq == expected["ack_floor_stream_seq"] == built["consumer_acks"][durable]
        assert consumer.delivered_stream_seq == expected["delivered_stream_seq"]


def test_streams_by_leader_falls_back_to_a_follower_when_the_leader_is_missing(version):
    built = scenario(version)["jetstream"]
    followers = [n for n in hub_nodes(version) if n != built["stream"]["leader"]]
    merged = streams_by_leader(snapshot(version, name, jsz="jsz-all") for name in followers)
    orders = next(s for s in merged if s.name == STREAM)
    assert orders.leader == built["stream"]["leader"] and orders.messages == MESSAGES
    apart = consumers_of(orders)[APART_CONSUMER]
    assert apart.leader in followers
    assert apart.num_pending == built["consumers"][APART_CONSUMER]["num_pending"]
    down = NodeSnapshot(monitor_url="http://down.invalid:8222", fetched_at=datetime.now(timezone.utc),
                        elapsed_ms=1.0, error="timed out after 3s")
    assert streams_by_leader([down]) == streams_by_leader([]) == ()


def test_the_memory_stream_of_the_other_account(version):
    built = scenario(version)["memory_stream"]
    merged = streams_by_leader(snapshot(version, name, jsz="jsz-all") for name in hub_nodes(version))
    events = next(s for s in merged if s.name == built["name"])
    assert events.account == built["account"]
    assert events.storage == built["storage"]
    assert events.num_replicas == built["replicas"] == 1
    assert events.messages == built["messages"]
    assert events.leader in hub_nodes(version) and events.replicas == ()
    assert len([s for s in merged if s.name == built["name"]]) == 1


def test_accounts_and_unlimited_reservations(version):
    leader = scenario(version)["jetstream"]["stream"]["leader"]
    accounts = {a.name: a for a in snapshot(version, leader, jsz="jsz-all").jsz.accounts}
    assert set(accounts) == {"TEAM_A", "TEAM_B"}
    raw_accounts = {a["name"]: a for a in raw(version, leader, "jsz-all")["account_details"]}
    assert raw_accounts["TEAM_A"]["reserved_memory"] == UNLIMITED_U64
    for account in accounts.values():
        assert account.reserved_memory is None and account.reserved_storage is None
    assert accounts["TEAM_A"].storage > 0


def test_after_a_node_is_killed_the_survivors_show_it_gone(version):
    built = scenario(version)["after_kill"]
    killed, survivors = built["killed"], built["survivors"]
    assert set(survivors) == set(hub_nodes(version)) - {killed}
    assert built["meta_leader"] in survivors
    for node in with_peer_names(snapshot(version, name, after_kill=True) for name in survivors):
        name = node.server_name
        assert node.up and node.healthz.ok
        assert {route.peer for route in node.routes} == set(survivors) - {name}
        if version == "v2.15":
            assert node.varz.remotes == len(survivors) - 1
        meta = node.jsz.meta
        assert meta.leader == built["meta_leader"] and meta.cluster_size == 3
    # The meta leader is the one to judge its peers (2.9's followers do not even list them).
    leader = snapshot(version, built["meta_leader"], after_kill=True).jsz.meta
    [gone] = [peer for peer in leader.replicas if peer.name == killed]
    assert not gone.current
    assert gone.offline == built["offline_flagged"]
    assert all(peer.current and not peer.offline for peer in leader.replicas if peer.name != killed)
    assert not (FIXTURES / version / "after-kill" / killed).exists()


def test_2_9_lists_the_meta_peers_only_on_the_meta_leader():
    for after_kill in (False, True):
        built = scenario("v2.9")["after_kill"] if after_kill else scenario("v2.9")
        nodes = built["survivors"] if after_kill else built["nodes"]
        for name in nodes:
            meta = snapshot("v2.9", name, after_kill=after_kill).jsz.meta
            assert meta.leader == built["meta_leader"]
            assert (meta.replicas != ()) == (name == built["meta_leader"])


def test_2_15_followers_see_the_killed_node_offline_too():
    built = scenario("v2.15")["after_kill"]
    [follower] = [name for name in built["survivors"] if name != built["meta_leader"]]
    meta = snapshot("v2.15", follower, after_kill=True).jsz.meta
    [gone] = [peer for peer in meta.replicas if peer.name == built["killed"]]
    assert not gone.current and gone.offline


def test_both_versions_flag_the_killed_node_offline_in_the_end(version):
    assert scenario(version)["after_kill"]["offline_flagged"]


# -- small parsers -------------------------------------------------------------------------------


@pytest.mark.parametrize("text, microseconds", [
    ("506µs", 506.0),
    ("506μs", 506.0),  # the Greek letter mu, not the micro sign
    ("506us", 506.0),
    ("1.2ms", 1200.0),
    ("2s", 2_000_000.0),
    ("1m2.5s", 62_500_000.0),
    ("1h0m0s", 3_600_000_000.0),
    ("750ns", 0.75),
    ("0s", 0.0),
    (" 3ms ", 3000.0),
])
def test_parse_rtt_us(text, microseconds):
    assert parse_rtt_us(text) == pytest.approx(microseconds)


@pytest.mark.parametrize("value", ["garbage", "", "ms", "1.2.3ms", ".", "5 parsecs", "1m2x", "-", None, 12, 1.5,
                                   [], {}])
def test_parse_rtt_us_unreadable_is_none(value):
    assert parse_rtt_us(value) is None


@pytest.mark.parametrize("text, expected", [
    ("2026-11-21T22:50:17.345443687Z", datetime(2026, 11, 21, 22, 50, 17, 345443, tzinfo=timezone.utc)),
    ("2026-11-21T22:50:17.000000001Z", datetime(2026, 11, 21, 22, 50, 17, tzinfo=timezone.utc)),
    ("2026-11-21T22:50:17.3Z", datetime(2026, 11, 21, 22, 50, 17, 300000, tzinfo=timezone.utc)),
    ("2026-11-21T22:50:17Z", datetime(2026, 11, 21, 22, 50, 17, tzinfo=timezone.utc)),
    ("2026-11-21T23:50:17.123456789+01:00",
     datetime(2026, 11, 21, 23, 50, 17, 123456, tzinfo=timezone(timedelta(hours=1)))),
])
def test_parse_time_keeps_up_to_microseconds_of_nanosecond_timestamps(text, expected):
    assert parse_time(text) == expected


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000000000Z", "", "yesterday",
                                   None, 0, 1700000000, [], {}])
def test_parse_time_zero_or_unreadable_is_none(value):
    assert parse_time(value) is None


def test_a_consumer_that_never_delivered_has_no_last_active(version):
    body = raw(version, scenario(version)["jetstream"]["stream"]["leader"], "jsz")
    [orders] = [s for a in body["account_details"] for s in a.get("stream_detail") or [] if s["name"] == STREAM]
    [auditor] = [c for c in orders["consumer_detail"] if c["name"] == UNREAD_CONSUMER]
    assert parse_time(auditor["ack_floor"].get("last_active")) is None
    assert parse_consumer(auditor, STREAM).last_active is None


@pytest.mark.parametrize("value, expected", [
    (UNLIMITED_U64, None),
    (2**64 - 1, None),
    (-1, None),
    (0, 0),
    (1024, 1024),
    ("1024", 1024),
    (None, None),
    ("lots", None),
])
def test_reserved_memory_and_storage(value, expected):
    [account] = parse_jsz({"config": {}, "account_details": [
        {"name": "A", "reserved_memory": value, "reserved_storage": value}]}).accounts
    assert account == AccountJetStream(name="A", reserved_memory=expected, reserved_storage=expected)


def test_healthz_answers():
    assert parse_healthz(200, {"status": "ok"}) == Healthz(ok=True, status="ok")
    unavailable = parse_healthz(503, {"status": "unavailable", "status_code": 503,
                                      "error": "JetStream has not established contact with a meta leader"})
    assert not unavailable.ok and "meta leader" in unavailable.error
    detailed = parse_healthz(503, {"status": "unavailable", "errors": [
        {"type": "STREAM", "error": "stream ORDERS is not current"}, {"type": "CONSUMER"}]})
    assert not detailed.ok and detailed.error == "stream ORDERS is not current"
    assert not parse_healthz(200, {"status": "unavailable"}).ok


# -- tolerance ---------------------------------------------------------------------------------


PARSERS = {
    "varz": parse_varz,
    "routez": parse_routez,
    "gatewayz": parse_gatewayz,
    "leafz": parse_leafz,
    "healthz": lambda body: parse_healthz(200, body),
    "jsz": parse_jsz,
    "jsz-all": parse_jsz,
    "stream": lambda body: parse_stream(body, "TEAM_A"),
    "consumer": lambda body: parse_consumer(body, STREAM),
}
WRONG_VALUES = [None, "", "x", "1.5", -1, 0, 2**70, 1.5, math.nan, math.inf, True, [], [None, 1, "x"], {},
                {"x": 1}]


def test_every_parser_accepts_an_empty_dict():
    assert parse_varz({}) == Varz(server_id="", server_name="")
    assert parse_routez({}) == () and parse_gatewayz({}) == () and parse_leafz({}) == ()
    assert parse_healthz(200, {}).ok and not parse_healthz(503, {}).ok
    assert parse_jsz({}) == Jsz(enabled=False)
    assert parse_stream({}, "A") == StreamState(account="A", name="")
    assert parse_consumer({}, "S").stream == "S"


@pytest.mark.parametrize("body", [None, [], "x", 7, [{"server_id": "N"}]])
def test_every_parser_accepts_a_body_that_is_not_an_object(body):
    for parse in PARSERS.values():
        parse(body)


def mutated(value, depth: int, wrong):
    """The recorded answer with everything `depth` levels down replaced by `wrong`."""
    if depth == 0:
        return wrong
    if isinstance(value, dict):
        return {key: mutated(item, depth - 1, wrong) for key, item in value.items()}
    if isinstance(value, list):
        return [mutated(item, depth - 1, wrong) for item in value]
    return wrong


def recorded_bodies(version: str) -> dict:
    built = scenario(version)
    leader = built["jetstream"]["stream"]["leader"]
    bodies = {endpoint: raw(version, built["leaf"]["hub_node"], endpoint) for endpoint in PARSERS
              if endpoint not in ("stream", "consumer", "jsz-all")}
    bodies["jsz-all"] = raw(version, leader, "jsz-all")
    bodies["gatewayz-edge"] = raw(version, built["gateway"]["nodes"][0], "gatewayz")
    [orders] = [s for a in bodies["jsz-all"]["account_details"] for s in a.get("stream_detail") or []
                if s["name"] == STREAM]
    bodies["stream"] = orders
    bodies["consumer"] = orders["consumer_detail"][0]
    return bodies


@pytest.mark.parametrize("endpoint", [*PARSERS, "gatewayz-edge"])
def test_every_parser_survives_wrong_typed_fields_at_every_depth(version, endpoint):
    body = recorded_bodies(version)[endpoint]
    parse = PARSERS[endpoint.removesuffix("-edge")]
    parse(body)
    for depth in range(1, 8):
        for wrong in WRONG_VALUES:
            parse(mutated(body, depth, wrong))


def test_every_parser_survives_each_field_alone_being_wrong(version):
    """One field at a time, every field of every recorded answer, every wrong type."""
    def paths(value, prefix=()):
        yield prefix
        if isinstance(value, dict):
            for key, item in value.items():
                yield from paths(item, (*prefix, key))
        elif isinstance(value, list) and value:
            yield from paths(value[0], (*prefix, 0))

    def with_value(value, path, wrong):
        if not path:
            return wrong
        copy = dict(value) if isinstance(value, dict) else list(value)
        copy[path[0]] = with_value(value[path[0]], path[1:], wrong)
        return copy

    for endpoint, body in recorded_bodies(version).items():
        parse = PARSERS[endpoint.removesuffix("-edge")]
        for path in paths(body):
            for wrong in (None, "x", 1.5, math.nan, [], {}):
                parse(with_value(body, path, wrong))


@pytest.mark.parametrize("version", ["v2.15", "v2.9"])
def test_gatewayz_and_leafz_are_asked_only_of_servers_that_have_them(version):
    from clusters.monitoring import _gateways_configured, _leafnodes_configured

    def varz(server):
        return json.loads((FIXTURES / version / server / "varz.json").read_text())

    assert _gateways_configured(varz("n1")) and _gateways_configured(varz("e1"))
    assert not _gateways_configured(varz("leaf1"))
    assert _leafnodes_configured(varz("n1")) and _leafnodes_configured(varz("leaf1"))
    assert not _leafnodes_configured(varz("e1"))
    assert not _gateways_configured({}) and not _leafnodes_configured({"leaf": {"port": 0}, "leafnodes": 0})
