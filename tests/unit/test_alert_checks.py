"""Health checks over polled state: table-driven, no I/O."""

from datetime import UTC, datetime, timedelta

import pytest

from alerts import checks
from alerts.checks import CRITICAL, OK, WARNING, AccountView, NodeView, Override, PolledState, Thresholds

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
DEFAULTS = {
    "node.restarted": (600, None),
    "node.cpu": (80, 95),
    "node.memory": (2048, 4096),
    "node.connections": (80, 95),
    "node.slow_consumers": (1, 100),
    "mesh.partial": (None, 1),
    "mesh.route_pool": (1, None),
    "mesh.gateways": (None, 1),
    "mesh.leafnodes": (None, 1),
    "stream.limits": (80, 95),
    "consumer.num_pending": (1000, 10000),
    "consumer.num_ack_pending": (500, 1000),
    "consumer.num_redelivered": (100, 1000),
    "consumer.stalled": (300, None),
    "account.memory": (80, 95),
    "account.storage": (80, 95),
}


def node(name="n1", status="up", **figures):
    base = {"start": (NOW - timedelta(hours=1)).isoformat(), "cpu": 4.0, "cores": 2, "mem": 50 * 1048576,
            "connections": 3, "max_connections": 100, "slow_consumers": 0, "jetstream": True}
    return NodeView(name=name, status=status, error="connection refused" if status == "down" else "",
                    figures={**base, **figures})


def full_mesh(*names):
    return [{"source": a, "target": b, "kind": "route", "id": f"route:{a}->{b}"}
            for i, a in enumerate(names) for b in names[i + 1:]]


def stream(name="ORDERS", account="TEAM_A", consumers=(), **fields):
    base = {"account": account, "name": name, "num_replicas": 1, "leader": "n1", "replicas": [], "messages": 10,
            "bytes": 1000, "max_msgs": -1, "max_bytes": -1, "metadata": {}, "last_ts": NOW.isoformat(),
            "consumers": list(consumers)}
    return {**base, **fields}


def consumer(name="audit", **fields):
    base = {"name": name, "num_pending": 0, "num_ack_pending": 0, "num_redelivered": 0, "num_waiting": 0,
            "ack_floor_stream_seq": 0, "last_delivered": None, "last_acked": None, "metadata": {}}
    return {**base, **fields}


def run(state_kwargs, overrides=(), memory=None, now=NOW):
    state = PolledState(cluster="lab", now=now, **state_kwargs)
    return checks.evaluate(state, Thresholds(DEFAULTS, overrides), memory)


def by_key(results):
    return {r.key: r for r in results}


@pytest.mark.parametrize(("figures", "check", "state", "value"), [
    ({}, "node.cpu", OK, 2.0),
    ({"cpu": 170.0}, "node.cpu", WARNING, 85.0),
    ({"cpu": 190.0}, "node.cpu", CRITICAL, 95.0),
    ({"mem": 3000 * 1048576}, "node.memory", WARNING, 3000.0),
    ({"connections": 80}, "node.connections", WARNING, 80.0),
    ({"connections": 99}, "node.connections", CRITICAL, 99.0),
    ({"max_connections": 0}, "node.connections", None, None),  # no limit known: not judged
])
def test_node_figures_against_thresholds(figures, check, state, value):
    results = by_key(run({"nodes": (node(**figures),), "topology": {}})[0])
    result = results.get(f"{check}|n1")
    if state is None:
        assert result is None
        return
    assert (result.state, result.value) == (state, value)


def test_a_down_node_is_critical_and_its_figures_are_not_judged():
    results = run({"nodes": (node("n1"), node("n2", status="down")), "topology": {"edges": []}})[0]
    keyed = by_key(results)
    assert keyed["node.unreachable|n2"].state == CRITICAL
    assert "connection refused" in keyed["node.unreachable|n2"].message
    assert keyed["node.unreachable|n1"].state == OK
    assert not any(r.target == "n2" and r.check != "node.unreachable" for r in results)


def test_restart_is_seen_from_a_new_start_time_and_judged_on_uptime():
    first, memory = run({"nodes": (node(),)})
    assert "node.restarted|n1" not in by_key(first)  # first sight: nothing to compare
    later = node(start=(NOW - timedelta(seconds=30)).isoformat())
    second, memory = run({"nodes": (later,)}, memory=memory)
    restarted = by_key(second)["node.restarted|n1"]
    assert (restarted.state, restarted.value, restarted.lower_is_worse) == (WARNING, 30.0, True)
    third, _ = run({"nodes": (later,)}, memory=memory, now=NOW + timedelta(seconds=700))
    assert by_key(third)["node.restarted|n1"].state == OK


def test_slow_consumers_increasing_within_the_window():
    _, memory = run({"nodes": (node(slow_consumers=4),)})
    results, memory = run({"nodes": (node(slow_consumers=6),)}, memory=memory, now=NOW + timedelta(seconds=10))
    assert by_key(results)["node.slow_consumers|n1"].state == WARNING
    assert by_key(results)["node.slow_consumers|n1"].value == 2
    later, _ = run({"nodes": (node(slow_consumers=6),)}, memory=memory, now=NOW + timedelta(seconds=400))
    assert by_key(later)["node.slow_consumers|n1"].state == OK


@pytest.mark.parametrize(("names", "edges", "state", "value"), [
    (("n1", "n2", "n3"), full_mesh("n1", "n2", "n3"), OK, 0),
    (("n1", "n2", "n3"), full_mesh("n1", "n2"), CRITICAL, 2),  # n3 down: its routes are gone
    (("n1",), [], None, None),  # one server: no mesh to judge
])
def test_partial_mesh_counts_pairs_without_a_route(names, edges, state, value):
    nodes = tuple(node(n) for n in names)
    result = by_key(run({"nodes": nodes, "topology": {"edges": edges}})[0]).get("mesh.partial|routes")
    if state is None:
        assert result is None
        return
    assert (result.state, result.value) == (state, value)


def test_findings_become_pool_gateway_and_meta_checks():
    topology = {"edges": full_mesh("n1", "n2"), "meta_leader": "", "findings": [
        {"kind": "degraded_pool", "severity": "warning", "message": "pool short"},
        {"kind": "gateway_down", "severity": "warning", "message": "n1 has no outbound gateway to east"},
        {"kind": "no_meta_leader", "severity": "critical", "message": "no leader"},
        {"kind": "meta_replica_lagging", "severity": "warning", "message": "n2 behind"},
    ]}
    keyed = by_key(run({"nodes": (node("n1"), node("n2")), "topology": topology})[0])
    assert keyed["mesh.route_pool|routes"].state == WARNING
    assert keyed["mesh.gateways|gateways"].state == CRITICAL
    assert keyed["meta.leader|meta"].state == CRITICAL
    assert keyed["meta.replicas|meta"].state == WARNING


def test_a_leafnode_that_goes_away_is_critical_until_it_returns():
    leaf = {"source": "n1", "target": "leaf:l1", "kind": "leafnode", "id": "leafnode:n1->leaf:l1/TEAM_A"}
    first, memory = run({"nodes": (node(),), "topology": {"edges": [leaf]}})
    assert by_key(first)["mesh.leafnodes|leafnodes"].state == OK
    gone, memory = run({"nodes": (node(),), "topology": {"edges": []}}, memory=memory)
    assert by_key(gone)["mesh.leafnodes|leafnodes"].state == CRITICAL
    back, _ = run({"nodes": (node(),), "topology": {"edges": [leaf]}}, memory=memory)
    assert by_key(back)["mesh.leafnodes|leafnodes"].state == OK


def leaf_edge(hub, leaf, account="TEAM_A", spoke=False):
    """A leafnode edge as clusters.topology draws it: hub -> leaf, or from a polled leaf: hub -> it."""
    source, target = (f"leaf:{hub}", leaf) if spoke else (hub, f"leaf:{leaf}")
    return {"source": source, "target": target, "kind": "leafnode", "account": account,
            "id": f"leafnode:{source}->{target}/{account}"}


@pytest.mark.parametrize(("before", "after", "state", "gone"), [
    # The leaf reconnects to another node of the hub cluster: the same leafnode, not one gone.
    ([leaf_edge("n1", "l1")], [leaf_edge("n2", "l1")], OK, []),
    # A polled server that is itself a leaf moves to another hub server: still the same leafnode.
    ([leaf_edge("hub1", "n1", spoke=True)], [leaf_edge("hub2", "n1", spoke=True)], OK, []),
    # Same leaf, another account: that account's leafnode is gone.
    ([leaf_edge("n1", "l1"), leaf_edge("n1", "l1", "TEAM_B")], [leaf_edge("n2", "l1")], CRITICAL, ["l1/TEAM_B"]),
    ([leaf_edge("n1", "l1"), leaf_edge("n1", "l2")], [leaf_edge("n3", "l2")], CRITICAL, ["l1/TEAM_A"]),
])
def test_leafnodes_are_remembered_by_leaf_and_account_not_by_hub_server(before, after, state, gone):
    _, memory = run({"nodes": (node(),), "topology": {"edges": before}})
    results, memory = run({"nodes": (node(),), "topology": {"edges": after}}, memory=memory,
                          now=NOW + timedelta(seconds=10))
    result = by_key(results)["mesh.leafnodes|leafnodes"]
    assert (result.state, result.figures["gone"]) == (state, gone)
    # A later poll still sees the same: the reconnected leaf stays fine, the gone one stays gone.
    again, _ = run({"nodes": (node(),), "topology": {"edges": after}}, memory=memory, now=NOW + timedelta(seconds=20))
    assert by_key(again)["mesh.leafnodes|leafnodes"].figures["gone"] == gone


def test_leafnode_memory_of_the_previous_format_is_read_by_leaf_and_account():
    """Memory written before leafnodes were keyed by (leaf, account) held edge ids."""
    memory = {"leafs": {"leafnode:n1->leaf:l1/TEAM_A": NOW.isoformat(),
                        "leafnode:leaf:hub1->n1/TEAM_B": NOW.isoformat()}}
    moved = [leaf_edge("n2", "l1"), leaf_edge("hub2", "n1", "TEAM_B", spoke=True)]
    results, _ = run({"nodes": (node(),), "topology": {"edges": moved}}, memory=memory,
                     now=NOW + timedelta(seconds=10))
    assert by_key(results)["mesh.leafnodes|leafnodes"].state == OK
    results, _ = run({"nodes": (node(),), "topology": {"edges": [leaf_edge("n2", "l1")]}}, memory=memory,
                     now=NOW + timedelta(seconds=10))
    assert by_key(results)["mesh.leafnodes|leafnodes"].figures["gone"] == ["n1/TEAM_B"]


@pytest.mark.parametrize(("fields", "state", "message_part"), [
    ({"num_replicas": 3, "replicas": [{"name": "n2", "current": True}, {"name": "n3", "current": True}]}, OK,
     "3 replicas current"),
    ({"num_replicas": 3, "replicas": [{"name": "n2", "current": True}, {"name": "n3", "offline": True}]},
     CRITICAL, "offline: n3"),
    ({"num_replicas": 3, "replicas": [{"name": "n2", "current": True}]}, CRITICAL, "1 replica(s) missing"),
    ({"num_replicas": 3, "replicas": [{"name": "n2", "current": True}, {"name": "n3", "current": False}]},
     WARNING, "lagging: n3"),
    ({"num_replicas": 3, "metadata": {"io.nats.monitor.peer-lag-critical": "100"},
      "replicas": [{"name": "n2", "current": True, "lag": 150}, {"name": "n3", "current": True}]},
     WARNING, "lagging: n2"),
    ({"num_replicas": 1, "metadata": {"io.nats.monitor.peer-expect": "3"}}, CRITICAL, "3 expected"),
])
def test_stream_replicas(fields, state, message_part):
    result = by_key(run({"streams": (stream(**fields),)})[0])["stream.replicas|TEAM_A/ORDERS"]
    assert result.state == state
    assert message_part in result.message


def test_stream_without_leader_and_near_its_limits():
    keyed = by_key(run({"streams": (stream(num_replicas=3, leader="", messages=90, max_msgs=100),)})[0])
    assert keyed["stream.leader|TEAM_A/ORDERS"].state == CRITICAL
    assert (keyed["stream.limits|TEAM_A/ORDERS"].state, keyed["stream.limits|TEAM_A/ORDERS"].value) == (WARNING, 90)


@pytest.mark.parametrize(("metadata", "messages", "state"), [
    ({"io.nats.monitor.msgs-warn": "100", "io.nats.monitor.msgs-critical": "200"}, 150, WARNING),
    ({"io.nats.monitor.msgs-warn": "100", "io.nats.monitor.msgs-critical": "200"}, 250, CRITICAL),
    # critical below warning, as natscli reads it: "at least this many messages"
    ({"io.nats.monitor.msgs-warn": "10", "io.nats.monitor.msgs-critical": "5"}, 7, WARNING),
    ({"io.nats.monitor.msgs-warn": "10", "io.nats.monitor.msgs-critical": "5"}, 3, CRITICAL),
    ({"io.nats.monitor.msgs-warn": "10", "io.nats.monitor.msgs-critical": "5"}, 50, OK),
])
def test_stream_message_count_from_metadata(metadata, messages, state):
    result = by_key(run({"streams": (stream(metadata=metadata, messages=messages),)})[0])["stream.messages|TEAM_A/ORDERS"]
    assert result.state == state
    assert result.figures["threshold_source"] == "metadata"


def test_seen_critical_judges_the_age_of_the_last_message():
    old = stream(metadata={"io.nats.monitor.seen-critical": "5m"}, last_ts=(NOW - timedelta(minutes=6)).isoformat())
    assert by_key(run({"streams": (old,)})[0])["stream.last_message|TEAM_A/ORDERS"].state == CRITICAL


@pytest.mark.parametrize(("figures", "metadata", "check", "state"), [
    ({"num_pending": 999}, {}, "consumer.num_pending", OK),
    ({"num_pending": 1000}, {}, "consumer.num_pending", WARNING),
    ({"num_pending": 10000}, {}, "consumer.num_pending", CRITICAL),
    ({"num_pending": 12}, {"io.nats.monitor.unprocessed-warn": "10"}, "consumer.num_pending", WARNING),
    ({"num_ack_pending": 6}, {"io.nats.monitor.outstanding-ack-critical": "5"}, "consumer.num_ack_pending", CRITICAL),
    ({"num_redelivered": 3}, {"io.nats.monitor.redelivery-warn": "2"}, "consumer.num_redelivered", WARNING),
    ({"num_waiting": 4}, {"io.nats.monitor.waiting-warn": "3"}, "consumer.num_waiting", WARNING),
    ({"last_delivered": (NOW - timedelta(minutes=10)).isoformat()}, {"io.nats.monitor.last-delivery-warn": "5m"},
     "consumer.last_delivery", WARNING),
    ({"last_acked": (NOW - timedelta(seconds=10)).isoformat()}, {"io.nats.monitor.last-ack-critical": "1m"},
     "consumer.last_ack", OK),
    ({}, {"io.nats.monitor.last-ack-critical": "1m"}, "consumer.last_ack", CRITICAL),  # never acked
])
def test_consumer_thresholds_from_settings_and_metadata(figures, metadata, check, state):
    data = stream(consumers=[consumer(metadata=metadata, **figures)])
    assert by_key(run({"streams": (data,)})[0])[f"{check}|TEAM_A/ORDERS/audit"].state == state


def test_consumer_stalled_needs_a_backlog_and_a_still_ack_floor():
    def poll(pending, floor, at, memory):
        data = stream(consumers=[consumer(num_pending=pending, ack_floor_stream_seq=floor)])
        results, memory = run({"streams": (data,)}, memory=memory, now=at)
        return by_key(results)["consumer.stalled|TEAM_A/ORDERS/audit"], memory

    result, memory = poll(5, 0, NOW, None)
    assert (result.state, result.value) == (OK, 0)
    result, memory = poll(5, 0, NOW + timedelta(seconds=301), memory)
    assert (result.state, result.value) == (WARNING, 301)
    result, memory = poll(2, 3, NOW + timedelta(seconds=310), memory)  # acks moved the floor
    assert (result.state, result.value) == (OK, 0)
    result, _ = poll(0, 3, NOW + timedelta(seconds=900), memory)  # nothing pending: not stalled
    assert result.state == OK


def test_precedence_override_over_metadata_over_settings():
    meta = {"io.nats.monitor.unprocessed-warn": "10", "io.nats.monitor.unprocessed-critical": "20"}
    data = stream(consumers=[consumer(num_pending=15, metadata=meta)])
    key = "consumer.num_pending|TEAM_A/ORDERS/audit"
    assert by_key(run({"streams": (data,)})[0])[key].state == WARNING  # metadata over settings (1000)
    stream_wide = [Override("consumer.num_pending", 100, None, account="TEAM_A", stream="ORDERS")]
    result = by_key(run({"streams": (data,)}, stream_wide)[0])[key]
    assert (result.state, result.figures["threshold_source"]) == (OK, "override")
    both = stream_wide + [Override("consumer.num_pending", 5, 12, account="TEAM_A", stream="ORDERS", consumer="audit")]
    assert by_key(run({"streams": (data,)}, both)[0])[key].state == CRITICAL  # the consumer's own wins
    off = [Override("consumer.num_pending", None, None, account="TEAM_A")]
    assert key not in by_key(run({"streams": (data,)}, off)[0])  # turned off for the account


def test_stream_names_repeat_across_accounts_but_keys_do_not():
    results = run({"streams": (stream(num_replicas=3, leader=""), stream(account="TEAM_B", num_replicas=3, leader=""))})[0]
    keys = [r.key for r in results if r.check == "stream.leader"]
    assert sorted(keys) == ["stream.leader|TEAM_A/ORDERS", "stream.leader|TEAM_B/ORDERS"]


@pytest.mark.parametrize(("jetstream", "state"), [
    (None, None),  # usage unknown: skipped
    ({"memory": 0, "storage": 850, "limits": {"max_memory": -1, "max_storage": 1000}}, WARNING),
    ({"memory": 0, "storage": 960, "limits": {"max_memory": -1, "max_storage": 1000}}, CRITICAL),
    ({"memory": 0, "storage": 10, "limits": {"max_memory": -1, "max_storage": 1000}}, OK),
])
def test_account_storage_against_its_limit(jetstream, state):
    results = by_key(run({"accounts": (AccountView("TEAM_A", jetstream),)})[0])
    assert ("account.storage|TEAM_A" in results) == (state is not None)
    assert "account.memory|TEAM_A" not in results  # unlimited memory: nothing to judge
    if state:
        assert results["account.storage|TEAM_A"].state == state
        assert results["account.storage|TEAM_A"].account == "TEAM_A"


@pytest.mark.parametrize(("text", "seconds"), [("5m", 300), ("1h30m", 5400), ("250ms", 0.25), ("90", 90),
                                               ("2d", 172800)])
def test_parse_duration(text, seconds):
    assert checks.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5 minutes", "m5", "-1m", "1e999", "inf", "nan", "-5", "1" + "0" * 400 + "s"])
def test_parse_duration_refuses_what_it_cannot_read(text):
    with pytest.raises(ValueError):
        checks.parse_duration(text)


@pytest.mark.parametrize("text", ["1e999", "inf", "nan", "-1", "many"])
def test_parse_count_refuses_what_is_not_a_finite_count(text):
    with pytest.raises(ValueError):
        checks.parse_count(text)


def test_a_metadata_threshold_of_infinity_is_reported_and_ignored():
    data = stream(consumers=[consumer(num_pending=15, metadata={"io.nats.monitor.unprocessed-warn": "1e999"})])
    result = by_key(run({"streams": (data,)})[0])["consumer.num_pending|TEAM_A/ORDERS/audit"]
    assert result.figures["threshold_source"] == "settings" and result.figures["warning"] == 1000
    assert "io.nats.monitor.unprocessed-warn" in result.figures["metadata_errors"][0]


@pytest.mark.parametrize(("text", "size"), [("1000", 1000), ("10KB", 10240), ("5MiB", 5 * 1048576), ("1G", 1073741824)])
def test_parse_size(text, size):
    assert checks.parse_size(text) == size


@pytest.mark.parametrize("text", ["1e999", "inf", "1" + "0" * 400, "-1", "5 lots"])
def test_parse_size_refuses_what_is_not_a_finite_size(text):
    with pytest.raises(ValueError):
        checks.parse_size(text)


def test_unreadable_metadata_is_reported_and_ignored():
    data = stream(consumers=[consumer(num_pending=15, metadata={"io.nats.monitor.unprocessed-warn": "lots"})])
    result = by_key(run({"streams": (data,)})[0])["consumer.num_pending|TEAM_A/ORDERS/audit"]
    assert result.state == OK and result.figures["threshold_source"] == "settings"
    assert "io.nats.monitor.unprocessed-warn" in result.figures["metadata_errors"][0]


def test_fine_stream_and_consumer_results_are_counted_not_stored():
    data = (stream(consumers=[consumer("a"), consumer("b", num_pending=5000)]), stream(name="OTHER", account="TEAM_B"))
    rows, fine = checks.for_storage(run({"nodes": (node(),), "streams": data})[0])
    keys = {row["key"] for row in rows}
    assert "node.unreachable|n1" in keys  # cluster-wide checks are kept, fine or not
    assert "consumer.num_pending|TEAM_A/ORDERS/b" in keys  # failing: kept
    assert "consumer.num_pending|TEAM_A/ORDERS/a" not in keys
    assert fine["TEAM_A"]["consumer.num_pending"] == 1 and "TEAM_B" not in fine  # OTHER has no consumers
