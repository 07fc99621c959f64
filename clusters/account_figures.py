"""Per-account figures out of one poll's /accstatz reports: summed over the nodes, with
per-second rates from counter deltas (each node against its own previous counters, as
state.node_figures does for nodes). Pure: no I/O.

In and out are named from the clients' view, the opposite of the server's words:
`msgs_in` are the messages the account's clients received (the server "sent" them) and
`msgs_out` those they published (the server "received" them). The part of each that a
server exchanged with other servers of the cluster over routes is left out, so a message
is counted once where a client published it and once where a client received it; 2.9
servers do not break their counters down, so there route traffic is counted as well.
"""

from __future__ import annotations

from datetime import datetime

from clusters.monitoring import AccountStatz, NodeSnapshot

COUNTERS = ("msgs_in", "msgs_out", "bytes_in", "bytes_out")
RATES = {counter: f"{counter}_per_s" for counter in COUNTERS}


def client_counters(statz: AccountStatz) -> dict[str, int]:
    """One node's counters of one account, from the clients' view, route traffic left out."""
    return {
        "msgs_in": max(statz.sent_msgs - statz.sent_route_msgs, 0),
        "msgs_out": max(statz.received_msgs - statz.received_route_msgs, 0),
        "bytes_in": max(statz.sent_bytes - statz.sent_route_bytes, 0),
        "bytes_out": max(statz.received_bytes - statz.received_route_bytes, 0),
    }


def node_rates(current: dict, previous: dict | None) -> dict[str, float] | None:
    """Per-second rates between two samples of one node's counters of one account; None when
    there is no earlier sample of the same server process or a counter went backwards."""
    if not previous or previous.get("server_id") != current["server_id"] or not previous.get("at"):
        return None
    seconds = (datetime.fromisoformat(current["at"]) - datetime.fromisoformat(previous["at"])).total_seconds()
    if seconds <= 0:
        return None
    rates = {}
    for counter in COUNTERS:
        before, now = previous.get(counter), current.get(counter)
        if not isinstance(before, int) or not isinstance(now, int) or now < before:
            return None
        rates[counter] = (now - before) / seconds
    return rates


def slow_consumers_added(current: dict, previous: dict | None) -> int | None:
    """Slow consumers one node counted since the previous poll (its counter runs from the
    server's start); None without an earlier count of the same server process."""
    if not previous or previous.get("server_id") != current["server_id"]:
        return None
    before, now = previous.get("slow_consumers"), current.get("slow_consumers")
    if not isinstance(before, int) or not isinstance(now, int) or now < before:
        return None
    return now - before


def empty_figures(at: str) -> dict:
    return {"at": at, "nodes": {}, "connections": 0, "leafnodes": 0, "subscriptions": 0, "slow_consumers": 0,
            "slow_consumers_added": None,
            **{counter: 0 for counter in COUNTERS}, **{rate: None for rate in RATES.values()}}


def account_figures(snapshots: list[NodeSnapshot], previous: dict[str, dict], accounts, *, at: datetime
                    ) -> dict[str, dict] | None:
    """The figures of each of `accounts` (names) summed over the nodes that reported /accstatz.
    `previous` maps an account to its figures of the last poll. None when no node reported
    (old servers, or all down): the stored figures are then left as they are.

    Keys: at, nodes ({server_name: that node's counters, server_id and at}), connections,
    leafnodes, subscriptions (the largest of the nodes' counts; None when a node does not
    report it: 2.9), slow_consumers (the servers' counters since they started, summed),
    slow_consumers_added (how many of those are new since the last poll; None until two polls
    of at least one node are known),
    msgs_in, msgs_out, bytes_in, bytes_out (counter totals), and their *_per_s rates (None
    until two polls of at least one node are known)."""
    reporting = [s for s in snapshots if s.up and s.accstatz is not None]
    if not reporting:
        return None
    wanted = set(accounts)
    result = {name: empty_figures(at.isoformat()) for name in wanted}
    for snapshot in reporting:
        for statz in snapshot.accstatz:
            if statz.account not in wanted:
                continue
            figures = result[statz.account]
            figures["connections"] += statz.connections
            figures["leafnodes"] += statz.leafnodes
            figures["slow_consumers"] += statz.slow_consumers
            # Not summed: each server's count takes in the interest of the other servers' clients
            # (propagated over routes), so the largest count stands for the account.
            if statz.subscriptions is None or figures["subscriptions"] is None:
                figures["subscriptions"] = None
            else:
                figures["subscriptions"] = max(figures["subscriptions"], statz.subscriptions)
            counters = client_counters(statz)
            for counter, value in counters.items():
                figures[counter] += value
            figures["nodes"][snapshot.server_name] = {
                "server_id": snapshot.varz.server_id, "at": snapshot.fetched_at.isoformat(),
                "slow_consumers": statz.slow_consumers, **counters}
    for name, figures in result.items():
        before = (previous.get(name) or {}).get("nodes") or {}
        sums: dict[str, float] | None = None
        for server, current in figures["nodes"].items():
            added = slow_consumers_added(current, before.get(server))
            if added is not None:
                figures["slow_consumers_added"] = (figures["slow_consumers_added"] or 0) + added
            rates = node_rates(current, before.get(server))
            if rates is None:
                continue
            sums = sums or {counter: 0.0 for counter in COUNTERS}
            for counter, rate in rates.items():
                sums[counter] += rate
        for counter, rate_name in RATES.items():
            figures[rate_name] = round(sums[counter], 3) if sums is not None else None
    return result


def public_figures(figures: dict | None) -> dict:
    """Figures as pages and the API show them: without the per-node counters."""
    return {key: value for key, value in (figures or {}).items() if key != "nodes"}
