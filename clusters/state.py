"""Pure functions that turn one poll's snapshots into what natsdash stores:
node figures with rates from counter deltas, JetStream streams merged across
nodes (each from its leader's report), and status-change events. No I/O."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from clusters.monitoring import NodeSnapshot, StreamState, streams_by_leader

COUNTERS = ("in_msgs", "out_msgs", "in_bytes", "out_bytes")
RATE_NAMES = {"in_msgs": "msgs_in_per_s", "out_msgs": "msgs_out_per_s",
              "in_bytes": "bytes_in_per_s", "out_bytes": "bytes_out_per_s"}


def node_figures(snapshot: NodeSnapshot, previous: dict | None) -> dict:
    """The latest figures of an up node, with per-second rates when the previous poll saw the
    same server process (counters restart from zero when the server restarts)."""
    varz = snapshot.varz
    figures = {
        "at": snapshot.fetched_at.isoformat(),
        "server_id": varz.server_id,
        "version": varz.version,
        "cluster": varz.cluster_name,
        "start": varz.start.isoformat() if varz.start else None,
        "cpu": varz.cpu,
        "mem": varz.mem,
        "cores": varz.cores,
        "connections": varz.connections,
        "total_connections": varz.total_connections,
        "subscriptions": varz.subscriptions,
        "slow_consumers": varz.slow_consumers,
        "routes": varz.routes,
        "remotes": varz.remotes,
        "leafnodes": varz.leafnodes,
        "max_payload": varz.max_payload,
        "max_connections": varz.max_connections,
        "jetstream": varz.jetstream_enabled,
        "healthz": (snapshot.healthz.status or ("ok" if snapshot.healthz.ok else "error")) if snapshot.healthz else None,
        "healthz_error": snapshot.healthz.error if snapshot.healthz else "",
        "poll_ms": round(snapshot.elapsed_ms, 1),
        "partial_errors": dict(snapshot.partial_errors),
        **{counter: getattr(varz, counter) for counter in COUNTERS},
    }
    figures.update(counter_rates(figures, previous))
    return figures


def counter_rates(current: dict, previous: dict | None) -> dict:
    rates = {name: None for name in RATE_NAMES.values()}
    if not previous or previous.get("server_id") != current["server_id"] or not previous.get("at"):
        return rates
    seconds = (datetime.fromisoformat(current["at"]) - datetime.fromisoformat(previous["at"])).total_seconds()
    if seconds <= 0:
        return rates
    for counter, name in RATE_NAMES.items():
        before, now = previous.get(counter), current.get(counter)
        if isinstance(before, int) and isinstance(now, int) and now >= before:
            rates[name] = round((now - before) / seconds, 3)
    return rates


def merge_streams(snapshots: list[NodeSnapshot]) -> list[StreamState]:
    """One entry per (account, stream): the stream from its leader's report and each consumer
    from its own leader's (consumer figures are zeros elsewhere)."""
    return list(streams_by_leader(s for s in snapshots if s.up))


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def stream_dict(stream: StreamState) -> dict:
    """JSON-ready, built field by field (dataclasses.asdict deep-copies: ten times slower)."""
    data = {f.name: getattr(stream, f.name) for f in fields(stream)}
    data.update(first_ts=_iso(stream.first_ts), last_ts=_iso(stream.last_ts), created=_iso(stream.created),
                subjects=list(stream.subjects), metadata=dict(stream.metadata),
                replicas=[{f.name: getattr(peer, f.name) for f in fields(peer)} for peer in stream.replicas])
    consumers = []
    for consumer in stream.consumers:
        item = {f.name: getattr(consumer, f.name) for f in fields(consumer)}
        item.update(last_active=_iso(consumer.last_active), last_delivered=_iso(consumer.last_delivered),
                    last_acked=_iso(consumer.last_acked), metadata=dict(consumer.metadata))
        consumers.append(item)
    data["consumers"] = consumers
    return data


def stream_summary(row: dict) -> dict:
    """A stream's row for lists: everything but the consumers' detail."""
    summary = {key: value for key, value in row.items() if key != "consumers"}
    summary["consumers"] = len(row["consumers"])
    return summary


@dataclass(frozen=True)
class Change:
    kind: str  # an EventKind value
    severity: str
    message: str
    node_url: str = ""


def node_changes(*, name: str, monitor_url: str, was_status: str, was_server_id: str,
                 snapshot: NodeSnapshot) -> list[Change]:
    if not snapshot.up:
        if was_status == "up":
            return [Change("node_down", "critical", f"{name} is down: {snapshot.error}", monitor_url)]
        return []
    changes = []
    if was_status == "down":
        changes.append(Change("node_up", "info", f"{snapshot.server_name} is up again", monitor_url))
    if was_server_id and snapshot.varz.server_id != was_server_id:
        changes.append(Change("server_restarted", "warning",
                              f"{snapshot.server_name} restarted (server id {was_server_id[:8]}… → "
                              f"{snapshot.varz.server_id[:8]}…)", monitor_url))
    return changes


def topology_changes(previous: dict, current: dict) -> list[Change]:
    """Routes lost or restored, and a moved JetStream meta leader, between two topologies (as_dict)."""
    if not previous:
        return []
    changes = []

    def routes(topology: dict) -> set[tuple[str, str]]:
        return {(e["source"], e["target"]) for e in topology.get("edges", []) if e.get("kind") == "route"}

    before, after = routes(previous), routes(current)
    for source, target in sorted(before - after):
        changes.append(Change("route_lost", "warning", f"route {source} ↔ {target} lost"))
    for source, target in sorted(after - before):
        changes.append(Change("route_restored", "info", f"route {source} ↔ {target} restored"))
    old_leader, new_leader = previous.get("meta_leader") or "", current.get("meta_leader") or ""
    if old_leader != new_leader and (old_leader or new_leader):
        changes.append(Change("meta_leader_changed", "warning" if not new_leader else "info",
                              f"JetStream meta leader moved from {old_leader or 'none'} to {new_leader or 'none'}"))
    return changes


def cluster_status(node_states: list[bool], findings: list[dict]) -> str:
    if not node_states:
        return "unknown"
    if not any(node_states):
        return "down"
    if not all(node_states) or any(f.get("severity") in ("critical", "warning") for f in findings):
        return "degraded"
    return "healthy"


def edges_with_rates(previous: dict, current: dict, polled_at: datetime) -> list[dict]:
    """Current edges with msgs_per_s from the previous poll's counters of the same edge."""
    before = {(e["source"], e["target"], e["kind"]): e for e in previous.get("edges", [])}
    previous_at = previous.get("polled_at")
    seconds = ((polled_at - datetime.fromisoformat(previous_at)).total_seconds() if previous_at else 0)
    edges = []
    for edge in current.get("edges", []):
        edge = dict(edge)
        old = before.get((edge["source"], edge["target"], edge["kind"]))
        edge["msgs_per_s"] = None
        if old and seconds > 0 and edge.get("msgs_total", 0) >= old.get("msgs_total", 0):
            edge["msgs_per_s"] = round((edge["msgs_total"] - old["msgs_total"]) / seconds, 3)
        edges.append(edge)
    return edges


def total_rate(nodes, name: str) -> float | None:
    rates = [node.figures.get(name) for node in nodes if node.status == "up"]
    rates = [rate for rate in rates if rate is not None]
    return round(sum(rates), 3) if rates else None
