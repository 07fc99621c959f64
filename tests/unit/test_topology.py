"""The cluster graph and its findings, from hand-built poll results of 2.9 and 2.15 servers."""

import json
import random
from datetime import datetime, timezone

import pytest

from clusters.monitoring import (
    GatewayConn,
    Jsz,
    LeafConn,
    MetaCluster,
    NodeSnapshot,
    PeerState,
    RouteConn,
    Varz,
)
from clusters.topology import ExpectedNode, build_topology

NOW = datetime(2025, 1, 1, tzinfo=timezone.utc)
NEW, OLD = "2.15.0", "2.9.25"


# -- helpers that build poll results ---------------------------------------------------------


def url(name: str) -> str:
    return f"http://{name}.example:8222"


def inventory(*names: str) -> list[ExpectedNode]:
    return [ExpectedNode(monitor_url=url(name), server_name=name) for name in names]


def route(peer: str, *, account: str = "", rtt_us: float | None = 500.0, msgs: int = 10,
          remote_id: str = "") -> RouteConn:
    return RouteConn(remote_name=peer, remote_id=remote_id or f"ID-{peer}", rtt_us=rtt_us,
                     pinned_account=account, in_msgs=msgs, out_msgs=msgs, in_bytes=100, out_bytes=100)


def pooled(peer: str, pool: int = 3, pinned: tuple[str, ...] = ("$SYS",)) -> tuple[RouteConn, ...]:
    """What a 2.10+ server lists for one peer: the pool plus one route per pinned account."""
    return tuple(route(peer) for _ in range(pool)) + tuple(route(peer, account=a) for a in pinned)


def peer(name: str, *, current: bool = True, offline: bool = False, lag: int = 0) -> PeerState:
    return PeerState(name=name, current=current, offline=offline, lag=lag)


def meta(leader: str, *replicas: PeerState) -> Jsz:
    return Jsz(enabled=True, meta=MetaCluster(name="east", leader=leader, cluster_size=3, replicas=replicas))


def up(name: str, routes=(), *, version: str = NEW, pool_size: int | None = 3, cluster: str = "east",
       jsz: Jsz | None = None, gateways=(), leafs=(), gateway_name: str = "",
       partial_errors=()) -> NodeSnapshot:
    varz = Varz(server_id=f"ID-{name}", server_name=name, version=version, cluster_name=cluster,
                pool_size=pool_size, gateway_name=gateway_name, jetstream_enabled=jsz is not None)
    return NodeSnapshot(monitor_url=url(name), fetched_at=NOW, elapsed_ms=3.0, varz=varz, routes=tuple(routes),
                        gateways=tuple(gateways), leafs=tuple(leafs), jsz=jsz,
                        partial_errors=tuple(partial_errors))


def down(monitor_url: str, error: str = "connection refused") -> NodeSnapshot:
    return NodeSnapshot(monitor_url=monitor_url, fetched_at=NOW, elapsed_ms=3000.0, error=error)


def follower_view(leader: str, *others: str) -> Jsz:
    """Followers report their peers as not current; only the leader's view counts."""
    return meta(leader, *(peer(o, current=False, lag=99_999) for o in others))


def mesh_215(*names: str, leader: str = "a") -> list[NodeSnapshot]:
    snapshots = []
    for name in names:
        others = [o for o in names if o != name]
        jsz = meta(leader, *(peer(o) for o in others)) if name == leader else follower_view(leader, *others)
        snapshots.append(up(name, [r for o in others for r in pooled(o)], jsz=jsz))
    return snapshots


# -- scenarios: (inventory, snapshots) -------------------------------------------------------


def healthy_215():
    return inventory("a", "b", "c"), mesh_215("a", "b", "c")


def healthy_29():
    return inventory("a", "b", "c"), [
        up("a", [route("b"), route("c")], version=OLD, pool_size=None,
           jsz=meta("a", peer("b"), peer("c"))),
        up("b", [route("a"), route("c")], version=OLD, pool_size=None, jsz=follower_view("a", "a", "c")),
        up("c", [route("a"), route("b")], version=OLD, pool_size=None, jsz=follower_view("a", "a", "b")),
    ]


def rolling_upgrade():
    """A 2.15 server talks to a 2.9 peer over a single route."""
    return inventory("a", "b"), [
        up("a", [route("b")], pool_size=3),
        up("b", [route("a")], version=OLD, pool_size=None),
    ]


def one_node_down():
    """c died: the survivors stop listing it and the meta leader reports it offline."""
    return inventory("a", "b", "c"), [
        up("a", pooled("b"), jsz=meta("a", peer("b"), peer("c", current=False, offline=True))),
        up("b", pooled("a"), jsz=follower_view("a", "a", "c")),
        down(url("c")),
    ]


def never_polled_down():
    return [*inventory("a", "b"), ExpectedNode(monitor_url=url("c"))], [
        up("a", pooled("b")), up("b", pooled("a")), down(url("c"), error="timed out after 3s"),
    ]


def no_snapshot_yet():
    return inventory("a", "b", "c"), [up("a", pooled("b")), up("b", pooled("a"))]


def restarted_mid_way():
    """b restarted: a already routes to the new b, which does not list a yet."""
    return inventory("a", "b", "c"), [
        up("a", pooled("b") + pooled("c")),
        up("b", pooled("c")),
        up("c", pooled("a") + pooled("b")),
    ]


def missing_pair():
    return inventory("a", "b", "c"), [
        up("a", pooled("c")),
        up("b", pooled("c")),
        up("c", pooled("a") + pooled("b")),
    ]


def short_pool():
    return inventory("a", "b"), [
        up("a", pooled("b", pool=1)),
        up("b", pooled("a", pool=1)),
    ]


def unknown_peer():
    return inventory("a", "b"), [
        up("a", pooled("b") + pooled("x")),
        up("b", pooled("a") + pooled("x")),
    ]


def no_meta_leader():
    return inventory("a", "b", "c"), [
        up("a", pooled("b") + pooled("c"), jsz=meta("", peer("b", current=False), peer("c", current=False))),
        up("b", pooled("a") + pooled("c"), jsz=meta("", peer("a", current=False), peer("c", current=False))),
        up("c", pooled("a") + pooled("b"), jsz=meta("", peer("a", current=False), peer("b", current=False))),
    ]


def one_server_without_leader():
    """c lost the meta group while a and b agree on a leader."""
    snapshots = mesh_215("a", "b", "c")
    snapshots[2] = up("c", pooled("a") + pooled("b"), jsz=meta("", peer("a", current=False)))
    return inventory("a", "b", "c"), snapshots


def leader_sees_offline_and_lagging():
    """The leader judges its peers; a follower's 'not current' view is ignored."""
    return inventory("a", "b", "c"), [
        up("a", pooled("b") + pooled("c"), jsz=meta("a", peer("b", lag=5000), peer("c", offline=True))),
        up("b", pooled("a") + pooled("c"), jsz=follower_view("a", "a", "c")),
        up("c", pooled("a") + pooled("b"), jsz=follower_view("a", "a", "b")),
    ]


def leader_sees_stale_peer():
    return inventory("a", "b"), [
        up("a", pooled("b"), jsz=meta("a", peer("b", current=False, lag=0))),
        up("b", pooled("a"), jsz=follower_view("a", "a")),
    ]


def meta_peer_not_registered():
    """z is in the meta group (another cluster of the supercluster) and offline."""
    return inventory("a", "b"), [
        up("a", pooled("b"), jsz=meta("a", peer("b"), peer("z", offline=True))),
        up("b", pooled("a"), jsz=follower_view("a", "a", "z")),
    ]


def routez_failed():
    """b's /routez timed out: its empty route list proves nothing."""
    return inventory("a", "b"), [
        up("a", pooled("b")),
        up("b", (), partial_errors=[("routez", "timed out after 3s")]),
    ]


def named_by_id_only():
    """A route whose peer name is not known yet still joins the right pair."""
    return inventory("a", "b"), [
        up("a", tuple(route("", remote_id="ID-b") for _ in range(3)) + (route("b", account="$SYS"),)),
        up("b", pooled("a")),
    ]


def registered_twice():
    return [*inventory("a", "b"), ExpectedNode(monitor_url="http://10.0.0.1:8222", server_name="a")], [
        up("a", pooled("b")), up("b", pooled("a")),
        NodeSnapshot(monitor_url="http://10.0.0.1:8222", fetched_at=NOW, elapsed_ms=1.0,
                     varz=Varz(server_id="ID-a", server_name="a", cluster_name="east", pool_size=3),
                     routes=pooled("b")),
    ]


def supercluster():
    gw = dict(gateway_name="east")
    return inventory("a", "b"), [
        up("a", pooled("b"), gateways=[
            GatewayConn(remote_cluster="west", direction="outbound", rtt_us=900.0, in_msgs=1, out_msgs=2),
            GatewayConn(remote_cluster="west", direction="inbound", rtt_us=700.0, in_msgs=3, out_msgs=4),
            GatewayConn(remote_cluster="east", direction="outbound"),
        ], leafs=[
            LeafConn(name="edge-1", account="APP", rtt_us=1500.0, in_msgs=5, out_msgs=6),
            LeafConn(name="edge-1", account="APP", rtt_us=1200.0, in_msgs=1, out_msgs=1),
            LeafConn(name="edge-1", account="SYS"),
        ], **gw),
        up("b", pooled("a"), gateways=[GatewayConn(remote_cluster="west", direction="inbound")],
           leafs=[LeafConn(name="hub-1", account="APP", is_spoke=True)], **gw),
    ]


SCENARIOS = {fn.__name__: fn for fn in [
    healthy_215, healthy_29, rolling_upgrade, one_node_down, never_polled_down, no_snapshot_yet,
    restarted_mid_way, missing_pair, short_pool, unknown_peer, no_meta_leader, one_server_without_leader,
    leader_sees_offline_and_lagging, leader_sees_stale_peer, meta_peer_not_registered, routez_failed,
    named_by_id_only, registered_twice, supercluster,
]}


def topology_of(scenario: str, **options):
    expected, snapshots = SCENARIOS[scenario]()
    return build_topology(expected, snapshots, **options)


# -- tables ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("scenario", "findings"), [
    ("healthy_215", []),
    ("healthy_29", []),
    ("rolling_upgrade", []),
    ("one_node_down", [("critical", "node_down", ("c",))]),
    ("never_polled_down", [("critical", "node_down", (url("c"),))]),
    ("no_snapshot_yet", [("critical", "node_down", ("c",))]),
    ("restarted_mid_way", [("warning", "one_sided_route", ("a", "b"))]),
    ("missing_pair", [("critical", "partial_mesh", ("a", "b"))]),
    ("short_pool", [("warning", "degraded_pool", ("a", "b"))]),
    ("unknown_peer", [("warning", "unknown_peer", ("x", "a", "b"))]),
    ("no_meta_leader", [("critical", "no_meta_leader", ("a", "b", "c"))]),
    ("one_server_without_leader", [("critical", "no_meta_leader", ("c",))]),
    ("leader_sees_offline_and_lagging", [("critical", "meta_replica_offline", ("c", "a")),
                                         ("warning", "meta_replica_lagging", ("b", "a"))]),
    ("leader_sees_stale_peer", [("warning", "meta_replica_lagging", ("b", "a"))]),
    ("meta_peer_not_registered", [("critical", "meta_replica_offline", ("z", "a"))]),
    ("routez_failed", []),
    ("named_by_id_only", []),
    ("registered_twice", [("info", "duplicate_node", ("a",))]),
    ("supercluster", [("warning", "gateway_down", ("b", "gateway:west"))]),
])
def test_findings(scenario, findings):
    topology = topology_of(scenario)
    assert [(f.severity, f.kind, f.nodes) for f in topology.findings] == findings
    for finding in topology.findings:
        assert all(name in finding.message for name in finding.nodes if not name.startswith("gateway:"))


@pytest.mark.parametrize(("scenario", "edges"), [
    # (source, target, connections, expected_connections, status)
    ("healthy_215", [("a", "b", 4, 4, "ok"), ("a", "c", 4, 4, "ok"), ("b", "c", 4, 4, "ok")]),
    ("healthy_29", [("a", "b", 1, 1, "ok"), ("a", "c", 1, 1, "ok"), ("b", "c", 1, 1, "ok")]),
    ("rolling_upgrade", [("a", "b", 1, 1, "ok")]),
    ("one_node_down", [("a", "b", 4, 4, "ok")]),
    ("restarted_mid_way", [("a", "b", 4, 4, "one-sided"), ("a", "c", 4, 4, "ok"), ("b", "c", 4, 4, "ok")]),
    ("missing_pair", [("a", "c", 4, 4, "ok"), ("b", "c", 4, 4, "ok")]),
    ("short_pool", [("a", "b", 2, 4, "degraded")]),
    ("unknown_peer", [("a", "b", 4, 4, "ok"), ("a", "x", 4, 4, "ok"), ("b", "x", 4, 4, "ok")]),
    ("routez_failed", [("a", "b", 4, 4, "ok")]),
    ("named_by_id_only", [("a", "b", 4, 4, "ok")]),
    ("registered_twice", [("a", "b", 4, 4, "ok")]),
])
def test_route_edges(scenario, edges):
    topology = topology_of(scenario)
    assert [(e.source, e.target, e.connections, e.expected_connections, e.status)
            for e in topology.edges if e.kind == "route"] == edges


@pytest.mark.parametrize(("scenario", "nodes"), [
    # (id, status, monitored)
    ("healthy_215", [("a", "up", True), ("b", "up", True), ("c", "up", True)]),
    ("one_node_down", [("a", "up", True), ("b", "up", True), ("c", "down", True)]),
    ("never_polled_down", [("a", "up", True), ("b", "up", True), (url("c"), "down", True)]),
    ("no_snapshot_yet", [("a", "up", True), ("b", "up", True), ("c", "down", True)]),
    ("unknown_peer", [("a", "up", True), ("b", "up", True), ("x", "up", False)]),
    ("meta_peer_not_registered", [("a", "up", True), ("b", "up", True), ("z", "down", False)]),
    ("registered_twice", [("a", "up", True), ("b", "up", True)]),
    ("supercluster", [("a", "up", True), ("b", "up", True), ("gateway:west", "up", False),
                      ("leaf:edge-1", "up", False), ("leaf:hub-1", "up", False)]),
])
def test_nodes(scenario, nodes):
    topology = topology_of(scenario)
    assert [(n.id, n.status, n.monitored) for n in topology.nodes] == nodes


@pytest.mark.parametrize(("scenario", "unmonitored", "leader"), [
    ("healthy_215", (), "a"),
    ("unknown_peer", ("x",), ""),
    ("meta_peer_not_registered", ("z",), "a"),
    ("no_meta_leader", (), ""),
    ("one_server_without_leader", (), "a"),
])
def test_unmonitored_peers_and_meta_leader(scenario, unmonitored, leader):
    topology = topology_of(scenario)
    assert topology.unmonitored_peers == unmonitored
    assert topology.meta_leader == leader
    assert [n.id for n in topology.nodes if n.is_meta_leader] == ([leader] if leader else [])


# -- details ---------------------------------------------------------------------------------


def test_down_node_carries_its_error_and_no_live_details():
    node = {n.id: n for n in topology_of("one_node_down").nodes}["c"]
    assert (node.status, node.error, node.monitor_url, node.version) == ("down", "connection refused", url("c"), "")
    up_node = {n.id: n for n in topology_of("one_node_down").nodes}["a"]
    assert (up_node.version, up_node.cluster, up_node.server_id, up_node.error) == (NEW, "east", "ID-a", "")


def test_never_polled_node_is_named_by_its_url_in_the_finding():
    finding, = topology_of("never_polled_down").findings
    assert finding.message == f"{url('c')} is down: timed out after 3s."


def test_down_node_whose_name_an_up_server_now_answers_to_is_keyed_by_url():
    expected = [ExpectedNode(url("a"), "a"), ExpectedNode("http://old-a:8222", "a")]
    topology = build_topology(expected, [up("a"), down("http://old-a:8222")])
    assert [(n.id, n.status) for n in topology.nodes] == [("a", "up"), ("http://old-a:8222", "down")]


def test_route_edge_figures():
    """rtt is the best of every grouped connection; traffic is counted from the source's view."""
    topology = build_topology(inventory("a", "b"), [
        up("a", [route("b", rtt_us=800.0, msgs=1), route("b", rtt_us=None, msgs=2),
                 route("b", rtt_us=650.0, msgs=3), route("b", account="$SYS", msgs=4)]),
        up("b", [route("a", rtt_us=300.0, msgs=50)] * 4),
    ])
    edge, = topology.edges
    assert (edge.rtt_us, edge.msgs_total, edge.bytes_total) == (300.0, 20, 800)
    assert (edge.source_connections, edge.target_connections) == (4, 4)


def test_traffic_falls_back_to_the_target_view_when_the_source_lists_nothing():
    edge = topology_of("restarted_mid_way").edges[0]
    assert (edge.source, edge.target, edge.source_connections, edge.target_connections) == ("a", "b", 4, 0)
    edge = build_topology(inventory("a", "b"), [up("a"), up("b", [route("a", msgs=7)], pool_size=None)]).edges[0]
    assert (edge.status, edge.msgs_total) == ("one-sided", 14)


def test_pool_sizes_that_disagree_expect_the_larger():
    topology = build_topology(inventory("a", "b"), [
        up("a", pooled("b", pool=5), pool_size=5), up("b", pooled("a", pool=5), pool_size=3)])
    assert [(e.connections, e.expected_connections, e.status) for e in topology.edges] == [(6, 6, "ok")]


def test_each_pinned_account_adds_one_expected_connection():
    topology = build_topology(inventory("a", "b"), [
        up("a", pooled("b", pinned=("$SYS", "APP"))), up("b", pooled("a", pinned=("$SYS",)))])
    edge, = topology.edges
    assert (edge.expected_connections, edge.source_connections, edge.target_connections, edge.status) == (
        5, 5, 4, "degraded")
    assert [f.kind for f in topology.findings] == ["degraded_pool"]


def test_servers_of_different_clusters_need_no_route():
    topology = build_topology(inventory("a", "b"), [up("a", cluster="east"), up("b", cluster="west")])
    assert topology.edges == () and topology.findings == ()


@pytest.mark.parametrize(("lag", "threshold", "kinds"), [
    (999, 1000, []),
    (1000, 1000, ["meta_replica_lagging"]),
    (50, 10, ["meta_replica_lagging"]),
])
def test_meta_lag_threshold(lag, threshold, kinds):
    topology = build_topology(inventory("a", "b"), [
        up("a", pooled("b"), jsz=meta("a", peer("b", lag=lag))),
        up("b", pooled("a"), jsz=follower_view("a", "a")),
    ], meta_lag_warning=threshold)
    assert [f.kind for f in topology.findings] == kinds


def test_meta_findings_come_from_the_leader_not_from_a_follower_that_names_it():
    """b believes a leads, but a (up) does not claim it: nothing is judged from b's view of its peers."""
    topology = build_topology(inventory("a", "b"), [
        up("a", pooled("b"), jsz=meta("", peer("b", current=False))),
        up("b", pooled("a"), jsz=meta("a", peer("a", offline=True))),
    ])
    assert [(f.kind, f.nodes) for f in topology.findings] == [("no_meta_leader", ("a",))]
    assert topology.meta_leader == "a"


def test_servers_without_jetstream_have_no_meta_findings():
    topology = build_topology(inventory("a", "b"), [
        up("a", pooled("b"), jsz=Jsz(enabled=False)), up("b", pooled("a"))])
    assert topology.findings == () and topology.meta_leader == ""


def test_gateway_and_leafnode_edges():
    edges = [e for e in topology_of("supercluster").edges if e.kind != "route"]
    assert [(e.kind, e.source, e.target, e.account, e.connections, e.status, e.rtt_us, e.msgs_total)
            for e in edges] == [
        ("gateway", "a", "gateway:west", "", 2, "ok", 700.0, 10),
        ("gateway", "b", "gateway:west", "", 1, "one-sided", None, 0),
        ("leafnode", "a", "leaf:edge-1", "APP", 2, "ok", 1200.0, 13),
        ("leafnode", "a", "leaf:edge-1", "SYS", 1, "ok", None, 0),
        ("leafnode", "leaf:hub-1", "b", "APP", 1, "ok", None, 0),
    ]
    nodes = {n.id: n for n in topology_of("supercluster").nodes}
    assert (nodes["gateway:west"].kind, nodes["gateway:west"].name, nodes["gateway:west"].cluster) == (
        "gateway", "west", "west")
    assert (nodes["leaf:edge-1"].kind, nodes["leaf:edge-1"].name) == ("leaf", "edge-1")


def test_output_does_not_depend_on_input_order():
    expected, snapshots = supercluster()
    shuffled = list(snapshots)
    random.Random(7).shuffle(shuffled)
    assert build_topology(expected[::-1], shuffled) == build_topology(expected, snapshots)
    expected, snapshots = leader_sees_offline_and_lagging()
    assert build_topology(expected[::-1], snapshots[::-1]) == build_topology(expected, snapshots)


def test_as_dict_is_the_api_shape_and_json_ready():
    data = topology_of("unknown_peer").as_dict()
    assert set(data) == {"nodes", "edges", "findings", "unmonitored_peers", "meta_leader"}
    assert data["unmonitored_peers"] == ["x"] and data["meta_leader"] == ""
    assert {"id", "name", "kind", "status", "monitored"} <= set(data["nodes"][0])
    assert [(n["name"], n["status"]) for n in data["nodes"]] == [("a", "up"), ("b", "up"), ("x", "up")]
    edge = data["edges"][0]
    assert {k: edge[k] for k in ("id", "source", "target", "kind", "connections", "status")} == {
        "id": "route:a->b", "source": "a", "target": "b", "kind": "route", "connections": 4, "status": "ok"}
    assert data["findings"] == [{"severity": "warning", "kind": "unknown_peer", "nodes": ["x", "a", "b"],
                                 "message": data["findings"][0]["message"]}]
    assert "x" in data["findings"][0]["message"]
    assert json.loads(json.dumps(data)) == data
