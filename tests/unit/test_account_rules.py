"""Pure account rules: figures summed over nodes with rates, JetStream usage, attention items."""

from datetime import datetime, timedelta, timezone

import pytest

from accounts.attention import Thresholds, attention, load, usage
from clusters.account_figures import account_figures, client_counters, public_figures
from clusters.monitoring import AccountStatz, NodeSnapshot, Varz

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


def snapshot(server: str, statz, *, at=T0, server_id=None, up=True) -> NodeSnapshot:
    varz = Varz(server_id=server_id or f"id-{server}", server_name=server) if up else None
    return NodeSnapshot(monitor_url=f"http://{server}:8222", fetched_at=at, elapsed_ms=1.0, varz=varz,
                        accstatz=tuple(statz) if statz is not None else None)


def statz(account="A", *, conns=1, subs=2, sent=0, received=0, sent_routes=0, received_routes=0, slow=0):
    return AccountStatz(account=account, connections=conns, subscriptions=subs, slow_consumers=slow,
                        sent_msgs=sent, sent_bytes=sent * 10, received_msgs=received, received_bytes=received * 10,
                        sent_route_msgs=sent_routes, sent_route_bytes=sent_routes * 10,
                        received_route_msgs=received_routes, received_route_bytes=received_routes * 10)


def test_counters_are_named_from_the_clients_view_without_route_traffic():
    assert client_counters(statz(sent=10, received=9, sent_routes=6)) == {
        "msgs_in": 4, "msgs_out": 9, "bytes_in": 40, "bytes_out": 90}


def test_figures_sum_the_nodes_and_keep_only_the_given_accounts():
    figures = account_figures([snapshot("n1", [statz(conns=2, subs=3, sent=5), statz("OTHER")]),
                               snapshot("n2", [statz(conns=1, subs=4, received=7, slow=1)])],
                              {}, ["A", "B"], at=T0)
    assert set(figures) == {"A", "B"}
    a = figures["A"]
    # Subscriptions: each server counts the interest of the others' clients too, so the largest.
    assert (a["connections"], a["subscriptions"], a["slow_consumers"]) == (3, 4, 1)
    assert (a["msgs_in"], a["msgs_out"]) == (5, 7)
    assert a["msgs_in_per_s"] is None  # no earlier poll
    assert set(a["nodes"]) == {"n1", "n2"}
    assert figures["B"]["connections"] == 0 and figures["B"]["nodes"] == {}
    assert "nodes" not in public_figures(a)


def test_subscriptions_are_unknown_when_a_node_does_not_report_them():
    figures = account_figures([snapshot("n1", [statz(subs=3)]), snapshot("n2", [statz(subs=None)])], {}, ["A"], at=T0)
    assert figures["A"]["subscriptions"] is None


@pytest.mark.parametrize(("later", "expected"), [
    # (node n1's second report, msgs_out_per_s): rates from each node's own counters.
    (dict(received=30), 3.0),  # n1: 20 in 10 s, n2: 10 in 10 s
    (dict(received=30, server_id="restarted"), 1.0),  # n1 restarted: only n2's rate counts
    (dict(received=5), 1.0),  # n1's counter went backwards: only n2's rate counts
])
def test_rates_come_from_each_nodes_counter_deltas(later, expected):
    first = account_figures([snapshot("n1", [statz(received=10)]), snapshot("n2", [statz(received=10)])],
                            {}, ["A"], at=T0)
    t1 = T0 + timedelta(seconds=10)
    later = dict(later)
    server_id = later.pop("server_id", None)
    second = account_figures([snapshot("n1", [statz(**later)], at=t1, server_id=server_id),
                              snapshot("n2", [statz(received=20)], at=t1)], first, ["A"], at=t1)
    assert second["A"]["msgs_out_per_s"] == expected


def test_no_figures_when_no_node_reported_accstatz():
    assert account_figures([snapshot("n1", None), snapshot("n2", [], up=False)], {}, ["A"], at=T0) is None


def test_usage_against_limits_with_unlimited_as_minus_one():
    rows = {r["kind"]: r for r in usage({"memory": 50, "storage": 950, "streams": 2, "consumers": 0, "limits": {
        "max_memory": -1, "max_storage": 1000, "max_streams": 2, "max_consumers": 0}})}
    assert (rows["memory"]["limit"], rows["memory"]["percent"]) == (None, None)
    assert rows["storage"]["percent"] == 95.0 and rows["storage"]["bytes"]
    assert rows["streams"]["percent"] == 100.0
    assert rows["consumers"]["percent"] == 0.0
    assert usage({}) == []


THRESHOLDS = Thresholds(pending=100, ack_pending=10, stalled_seconds=300, usage_percent=90)
NOW = T0 + timedelta(minutes=30)


def consumer(name, pending=0, ack_pending=0):
    return {"name": name, "num_pending": pending, "num_ack_pending": ack_pending}


def kinds(items):
    return sorted((item.kind, item.stream, item.consumer) for item in items)


@pytest.mark.parametrize(("streams", "samples", "jetstream", "figures", "expected"), [
    # all well
    ([{"name": "S", "consumers": [consumer("c", pending=99, ack_pending=9)]}], {}, None, {"slow_consumers": 0}, []),
    # at the pending and ack pending thresholds: as the health checks judge, at the level fails
    ([{"name": "S", "consumers": [consumer("c", pending=100), consumer("d", ack_pending=10)]}], {}, None, {},
     [("ack_pending", "S", "d"), ("pending", "S", "c")]),
    # stalled: pending with the ack floor still for 10 minutes
    ([{"name": "S", "consumers": [consumer("c", pending=5)]}],
     {("S", "c"): [(NOW - timedelta(minutes=10), 5, 7), (NOW - timedelta(minutes=5), 5, 7), (NOW, 5, 7)]},
     None, {}, [("stalled", "S", "c")]),
    # the floor moved 2 minutes ago: not stalled
    ([{"name": "S", "consumers": [consumer("c", pending=5)]}],
     {("S", "c"): [(NOW - timedelta(minutes=10), 9, 3), (NOW - timedelta(minutes=2), 5, 7), (NOW, 5, 7)]},
     None, {}, []),
    # a still floor with nothing pending is idle, not stalled
    ([{"name": "S", "consumers": [consumer("c")]}],
     {("S", "c"): [(NOW - timedelta(minutes=10), 0, 7), (NOW, 0, 7)]}, None, {}, []),
    # storage at 90% of its limit, memory unlimited
    ([], {}, {"memory": 10**9, "storage": 900, "limits": {"max_memory": -1, "max_storage": 1000}}, {},
     [("storage", "", "")]),
    ([], {}, {"memory": 89, "storage": 0, "limits": {"max_memory": 100, "max_storage": -1}}, {}, []),
    # slow consumers: new ones since the last poll; the servers' counters run from their start
    ([], {}, None, {"slow_consumers": 2, "slow_consumers_added": 1}, [("slow_consumers", "", "")]),
    ([], {}, None, {"slow_consumers": 2, "slow_consumers_added": 0}, []),
    ([], {}, None, {"slow_consumers": 2, "slow_consumers_added": None}, []),
    ([], {}, None, {"slow_consumers": 2}, []),
    # tiered limits: the account-wide zeros are no limit, the tier's limit counts
    ([], {}, {"memory": 0, "storage": 500, "limits": {"max_memory": 0, "max_storage": 0},
              "tiers": {"R1": {"memory": 0, "storage": 500, "limits": {"max_memory": 0, "max_storage": 10000}}}},
     {}, []),
    ([], {}, {"memory": 0, "storage": 950, "limits": {"max_memory": 0, "max_storage": 0},
              "tiers": {"R1": {"memory": 0, "storage": 950, "limits": {"max_memory": 0, "max_storage": 1000}}}},
     {}, [("storage", "", "")]),
])
def test_attention_rules(streams, samples, jetstream, figures, expected):
    items = attention(figures=figures, jetstream=jetstream, streams=streams, consumer_samples=samples,
                      now=NOW, thresholds=THRESHOLDS)
    assert kinds(items) == expected


def test_critical_items_come_first():
    items = attention(figures={"slow_consumers": 1, "slow_consumers_added": 1}, jetstream={"storage": 1000, "limits": {"max_storage": 1000}},
                      streams=[], consumer_samples={}, now=NOW, thresholds=THRESHOLDS)
    assert [item.severity for item in items] == ["critical", "warning"]


def test_a_threshold_of_zero_turns_its_rule_off_as_in_the_health_checks():
    class Settings:
        ALERT_CONSUMER_PENDING_WARNING = 0.0
        ALERT_CONSUMER_ACK_PENDING_WARNING = 0.0
        CONSUMER_STALLED_MINUTES = 5
        ALERT_ACCOUNT_JETSTREAM_WARNING = 0.0

    thresholds = Thresholds.from_settings(Settings)
    assert (thresholds.pending, thresholds.ack_pending, thresholds.usage_percent) == (None, None, None)
    items = attention(figures={}, jetstream={"storage": 999, "limits": {"max_storage": 1000}},
                      streams=[{"name": "S", "consumers": [consumer("c", pending=5000, ack_pending=5000)]}],
                      consumer_samples={}, now=NOW, thresholds=thresholds)
    assert items == []


def test_slow_consumers_added_since_the_last_poll_of_the_same_server_process():
    first = account_figures([snapshot("n1", [statz(slow=3)]), snapshot("n2", [statz(slow=1)])], {}, ["A"], at=T0)
    assert first["A"]["slow_consumers"] == 4 and first["A"]["slow_consumers_added"] is None  # no earlier poll
    t1 = T0 + timedelta(seconds=10)
    same = account_figures([snapshot("n1", [statz(slow=3)], at=t1), snapshot("n2", [statz(slow=1)], at=t1)],
                           first, ["A"], at=t1)
    assert same["A"]["slow_consumers"] == 4 and same["A"]["slow_consumers_added"] == 0
    assert attention(figures=same["A"], jetstream=None, streams=[], consumer_samples={}, now=NOW,
                     thresholds=THRESHOLDS) == []
    t2 = t1 + timedelta(seconds=10)
    # n1 counted two more; n2 restarted (its counter starts again from 0): not a new slow consumer.
    more = account_figures([snapshot("n1", [statz(slow=5)], at=t2),
                            snapshot("n2", [statz(slow=0)], at=t2, server_id="restarted")], same, ["A"], at=t2)
    assert more["A"]["slow_consumers_added"] == 2
    [item] = attention(figures=more["A"], jetstream=None, streams=[], consumer_samples={}, now=NOW,
                       thresholds=THRESHOLDS)
    assert item.kind == "slow_consumers" and item.message.startswith("2 new slow consumers")


def test_usage_of_tiered_limits_reads_the_tiers_not_the_account_wide_zeros():
    tiered = {"memory": 0, "storage": 300, "streams": 2, "consumers": 1, "limits": {
        "max_memory": 0, "max_storage": 0, "max_streams": 0, "max_consumers": 0}}
    one = usage({**tiered, "tiers": {"R1": {"memory": 0, "storage": 300, "streams": 2, "consumers": 1, "limits": {
        "max_memory": 0, "max_storage": 1000, "max_streams": -1, "max_consumers": 10}}}})
    rows = {r["kind"]: r for r in one}
    assert len(one) == 4 and {r["tier"] for r in one} == {"R1"}
    assert (rows["storage"]["limit"], rows["storage"]["percent"]) == (1000, 30.0)
    assert (rows["memory"]["limit"], rows["memory"]["percent"]) == (None, None)  # 0 in a tier: no limit shown
    assert (rows["streams"]["limit"], rows["consumers"]["percent"]) == (None, 10.0)

    two = usage({**tiered, "tiers": {
        "R3": {"memory": 0, "storage": 100, "streams": 1, "consumers": 0, "limits": {"max_storage": 400}},
        "R1": {"memory": 0, "storage": 200, "streams": 1, "consumers": 1, "limits": {"max_storage": 2000}}}})
    assert [(r["tier"], r["kind"]) for r in two if r["kind"] == "storage"] == [("R1", "storage"), ("R3", "storage")]
    assert [r["percent"] for r in two if r["kind"] == "storage"] == [10.0, 25.0]

    # Without tiers a 0 limit still means nothing may be used.
    assert {r["kind"]: r["percent"] for r in usage({**tiered, "storage": 5})}["storage"] == 100.0


def test_load_is_messages_per_second_both_ways():
    assert load({"msgs_in_per_s": 2.5, "msgs_out_per_s": None}) == 2.5
    assert load(None) == 0.0
