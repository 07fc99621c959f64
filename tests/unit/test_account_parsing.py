"""Account endpoints recorded from real nats-server 2.15 and 2.9 parse alike (see the fixtures' README)."""

import json
from pathlib import Path

import pytest

from clusters.monitoring import parse_accountz, parse_accstatz, parse_connz
from streams.jetstream import AccountInfo, parse_account_info

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "monitoring" / "accounts"
VERSIONS = ["v2.15", "v2.9"]


def load(version: str, name: str) -> dict:
    return json.loads((FIXTURES / version / f"{name}.json").read_text())


def statz(version: str, node: str) -> dict:
    return {s.account: s for s in parse_accstatz(load(version, f"{node}-accstatz"))}


@pytest.mark.parametrize("version", VERSIONS)
def test_accstatz_lists_every_account_with_its_connections(version):
    n1, n2 = statz(version, "n1"), statz(version, "n2")
    assert {"TEAM_A", "TEAM_B", "SYS", "$G"} <= set(n1)  # unused=1: accounts without connections too
    assert (n1["TEAM_A"].connections, n2["TEAM_A"].connections) == (1, 1)
    assert (n1["TEAM_B"].connections, n2["TEAM_B"].connections) == (1, 0)
    # sensor published 3 messages of 3 bytes: the server received them.
    assert (n1["TEAM_B"].received_msgs, n1["TEAM_B"].received_bytes) == (3, 9)
    assert n1["TEAM_A"].slow_consumers == 0


def test_accstatz_of_2_15_counts_subscriptions_and_route_traffic_apart():
    n1, n2 = statz("v2.15", "n1"), statz("v2.15", "n2")
    # n1 counts orders-worker's two subscriptions on n2 too (interest comes over the route),
    # along with the account's internal ones.
    assert n1["TEAM_A"].subscriptions >= 2 and n2["TEAM_A"].subscriptions >= 2
    # The 5 + 1 messages orders-api published went over the route to orders-worker's server.
    assert n1["TEAM_A"].sent_route_msgs == 6
    assert n2["TEAM_A"].received_route_msgs >= 6


def test_accstatz_of_2_9_has_no_subscriptions_nor_route_split():
    n1 = statz("v2.9", "n1")
    assert n1["TEAM_A"].subscriptions is None
    assert n1["TEAM_A"].sent_route_msgs == 0


@pytest.mark.parametrize("body", [{}, {"account_statz": None}, {"account_statz": [{"conns": 3}, "junk"]}])
def test_accstatz_tolerates_missing_parts(body):
    assert parse_accstatz(body) == ()


@pytest.mark.parametrize("version", VERSIONS)
def test_connz_names_in_and_out_from_the_clients_view(version):
    api = parse_connz(load(version, "n1-connz"))
    worker = parse_connz(load(version, "n2-connz"))
    assert [c.name for c in api.connections] == ["orders-api"]
    assert [c.name for c in worker.connections] == ["orders-worker"]
    publisher, subscriber = api.connections[0], worker.connections[0]
    # orders-api published 5 + 1 messages and 3 JetStream API requests (add stream, account info, ...).
    assert publisher.msgs_out >= 6
    assert subscriber.msgs_in == 6 and subscriber.msgs_out == 0  # got every orders.* message
    assert subscriber.subscriptions == 2
    assert publisher.lang == "python3" and publisher.version
    assert publisher.rtt and publisher.rtt_us > 0
    assert publisher.start is not None and publisher.uptime.endswith("s")


@pytest.mark.parametrize("version", VERSIONS)
def test_accountz_imports_read_alike_on_both_versions(version):
    detail = parse_accountz(load(version, "n1-accountz"))
    assert detail.account == "TEAM_A" and detail.jetstream_enabled
    assert detail.client_connections == 1
    js_api = next(i for i in detail.imports if i.local_subject == "$JS.API.>")
    assert (js_api.kind, js_api.account, js_api.subject) == ("service", "SYS", "$JS.API.>")
    connz = next(i for i in detail.imports if i.local_subject == "$SYS.REQ.ACCOUNT.PING.CONNZ")
    assert connz.subject == "$SYS.REQ.ACCOUNT.TEAM_A.CONNZ"
    assert detail.exports == ()


def test_accountz_exports_and_a_missing_detail():
    detail = parse_accountz({"account_detail": {"account_name": "X", "exports": [
        {"subject": "orders.>", "type": "stream", "approved_accounts": ["TEAM_B"]},
        {"subject": "help", "type": "service", "token_req": True}]}})
    assert [(e.kind, e.subject, e.token_required, e.approved_accounts) for e in detail.exports] == [
        ("stream", "orders.>", False, ("TEAM_B",)), ("service", "help", True, ())]
    assert parse_accountz({"error": "account not found"}) is None


@pytest.mark.parametrize("version", VERSIONS)
def test_jetstream_account_info(version):
    info = parse_account_info(load(version, "js-api-info"))
    assert info == AccountInfo(memory=0, storage=43, streams=1, consumers=0)
    assert info.as_dict() == {"memory": 0, "storage": 43, "streams": 1, "consumers": 0, "limits": {
        "max_memory": -1, "max_storage": -1, "max_streams": -1, "max_consumers": -1}}


def test_jetstream_account_info_with_limits_and_missing_fields():
    info = parse_account_info({"memory": 5, "limits": {"max_memory": 1024, "max_streams": 3}})
    assert (info.storage, info.max_memory, info.max_storage, info.max_streams) == (0, 1024, -1, 3)


# $JS.API.INFO of an account with tiered limits (JWT accounts): nats-server's JetStreamAccountStats
# with the account-wide limits left zero and each tier's usage and limits under "tiers".
TIERED = {
    "type": "io.nats.jetstream.api.v1.account_info_response",
    "memory": 0, "storage": 1500, "reserved_memory": 0, "reserved_storage": 0, "streams": 2, "consumers": 1,
    "limits": {"max_memory": 0, "max_storage": 0, "max_streams": 0, "max_consumers": 0, "max_ack_pending": 0,
               "memory_max_stream_bytes": 0, "storage_max_stream_bytes": 0, "max_bytes_required": False},
    "domain": "", "api": {"level": 1, "total": 4, "errors": 0},
    "tiers": {
        "R1": {"memory": 0, "storage": 500, "reserved_memory": 0, "reserved_storage": 0, "streams": 1,
               "consumers": 1, "limits": {"max_memory": 1048576, "max_storage": 10485760, "max_streams": 5,
                                          "max_consumers": 10, "max_ack_pending": -1}},
        "R3": {"memory": 0, "storage": 1000, "reserved_memory": 0, "reserved_storage": 0, "streams": 1,
               "consumers": 0, "limits": {"max_memory": -1, "max_storage": 20971520, "max_streams": 3,
                                          "max_consumers": -1}},
    },
}


def test_jetstream_account_info_with_tiered_limits():
    info = parse_account_info(TIERED)
    assert (info.storage, info.max_storage, info.max_streams) == (1500, 0, 0)  # the stored keys, as sent
    assert [name for name, _ in info.tiers] == ["R1", "R3"]
    stored = info.as_dict()
    assert stored["limits"]["max_storage"] == 0
    assert stored["tiers"] == {
        "R1": {"memory": 0, "storage": 500, "streams": 1, "consumers": 1, "limits": {
            "max_memory": 1048576, "max_storage": 10485760, "max_streams": 5, "max_consumers": 10}},
        "R3": {"memory": 0, "storage": 1000, "streams": 1, "consumers": 0, "limits": {
            "max_memory": -1, "max_storage": 20971520, "max_streams": 3, "max_consumers": -1}}}


def test_tiered_limits_do_not_read_as_a_full_account():
    from accounts.attention import Thresholds, attention, usage

    stored = parse_account_info(TIERED).as_dict()
    rows = usage(stored)
    assert all(row["percent"] is None or row["percent"] < 50 for row in rows)
    assert {(row["tier"], row["kind"]): row["percent"] for row in rows}[("R3", "streams")] == 33.3
    thresholds = Thresholds(pending=100, ack_pending=10, stalled_seconds=300, usage_percent=80)
    assert attention(figures={}, jetstream=stored, streams=[], consumer_samples={}, now=None,
                     thresholds=thresholds) == []


@pytest.mark.parametrize("tiers", [None, [], {"R1": "junk"}, {}])
def test_jetstream_account_info_tolerates_missing_or_broken_tiers(tiers):
    info = parse_account_info({"storage": 3, "tiers": tiers})
    assert info.tiers == () and "tiers" not in info.as_dict()
