"""Health checks over one poll's state, in the spirit of `nats server check`. Pure: no I/O, no ORM.

Each check gives a CheckResult with a state (ok, warning, critical), the value it judged, the
threshold it crossed and the figures behind it. Inputs are what the poll stored: the nodes and
their figures, the topology (edges and findings, see clusters.topology), the merged streams and
consumers (clusters.state.stream_dict rows), the accounts' JetStream usage when known, and a
small memory carried from the previous evaluation (ack floor progress, slow consumer counts,
leafnodes seen) that `evaluate` returns updated.

Thresholds come from a Thresholds object: an explicit override from the UI (consumer, then
stream, then account, then cluster) wins over the `io.nats.monitor.*` metadata of the stream or
consumer (as natscli reads it), which wins over the defaults in settings. A value at or above a
threshold fails it ("lower is worse" checks such as uptime fail at or below).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations

OK, WARNING, CRITICAL = "ok", "warning", "critical"
STATES = (OK, WARNING, CRITICAL)
_RANK = {OK: 0, WARNING: 1, CRITICAL: 2}

METADATA_PREFIX = "io.nats.monitor."

# check -> (metadata key stem, kind of value). Suffixes "-warn" and "-critical" as natscli reads them.
CONSUMER_METADATA = {
    "consumer.num_ack_pending": ("outstanding-ack", "count"),
    "consumer.num_waiting": ("waiting", "count"),
    "consumer.num_pending": ("unprocessed", "count"),
    "consumer.num_redelivered": ("redelivery", "count"),
    "consumer.last_delivery": ("last-delivery", "duration"),
    "consumer.last_ack": ("last-ack", "duration"),
}
STREAM_METADATA = {
    "stream.messages": ("msgs", "count"),
    "stream.bytes": ("bytes", "size"),
}
# Single keys: io.nats.monitor.peer-expect (replicas expected), peer-lag-critical (operations
# behind), seen-critical (the last message may be at most this old).

# Every check natsdash runs, with what its value measures (shown on the health page).
CHECKS = {
    "node.unreachable": "the node answers its monitoring port",
    "node.restarted": "seconds since the server started (lower is worse)",
    "node.cpu": "CPU % per core",
    "node.memory": "resident memory, MiB",
    "node.connections": "client connections, % of max_connections",
    "node.slow_consumers": "slow consumers added within the window",
    "mesh.partial": "pairs of registered servers without a route",
    "mesh.route_pool": "route pools short or one-sided",
    "mesh.gateways": "outbound gateways missing",
    "mesh.leafnodes": "leafnode connections seen recently and now gone",
    "meta.leader": "the JetStream meta group has a leader",
    "meta.replicas": "meta group peers offline or lagging",
    "stream.leader": "the stream has a leader",
    "stream.replicas": "stream replicas offline, missing or lagging",
    "stream.limits": "messages or bytes, % of the stream's limit",
    "stream.messages": "messages in the stream",
    "stream.bytes": "bytes in the stream",
    "stream.last_message": "seconds since the last message",
    "consumer.num_pending": "messages not yet delivered",
    "consumer.num_ack_pending": "messages delivered, not acknowledged",
    "consumer.num_redelivered": "messages redelivered",
    "consumer.num_waiting": "pull requests waiting",
    "consumer.stalled": "seconds with a backlog and no ack progress",
    "consumer.last_delivery": "seconds since the last delivery",
    "consumer.last_ack": "seconds since the last acknowledgement",
    "account.memory": "JetStream memory, % of the account's limit",
    "account.storage": "JetStream storage, % of the account's limit",
}
# Checks whose thresholds can be set (the others are judged from findings).
THRESHOLD_CHECKS = tuple(c for c in CHECKS if c not in {
    "node.unreachable", "meta.leader", "meta.replicas", "stream.leader"})
# Checks whose values fail at or below their thresholds; the others fail at or above, except those
# whose thresholds' order decides (natscli: a critical below the warning means "at least this many").
LOWER_IS_WORSE_CHECKS = frozenset({"node.restarted"})
ORDER_DECIDES_CHECKS = frozenset({"stream.messages", "stream.bytes"})


@dataclass(frozen=True)
class CheckResult:
    check: str
    target: str  # node name, "routes", "meta", STREAM, STREAM/CONSUMER or ACCOUNT
    account: str  # "" for cluster-wide checks
    state: str
    value: float | None
    threshold: float | None  # the threshold crossed (or, when ok, the warning one)
    message: str
    figures: dict = field(default_factory=dict)
    lower_is_worse: bool = False

    @property
    def key(self) -> str:
        """Unique within a cluster: stream names repeat across accounts, so stream and consumer
        checks carry their account ("stream.replicas|TEAM_A/ORDERS")."""
        if self.account and not self.check.startswith("account."):
            return f"{self.check}|{self.account}/{self.target}"
        return f"{self.check}|{self.target}"

    @property
    def failing(self) -> bool:
        return self.state != OK

    def as_dict(self) -> dict:
        return {"check": self.check, "target": self.target, "account": self.account, "state": self.state,
                "value": self.value, "threshold": self.threshold, "message": self.message,
                "figures": self.figures, "key": self.key, "lower_is_worse": self.lower_is_worse}


# -- thresholds -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    warning: float | None
    critical: float | None
    source: str  # "override", "metadata", "settings" or "" (none)

    @property
    def active(self) -> bool:
        return self.warning is not None or self.critical is not None


NO_LIMITS = Limits(None, None, "")


@dataclass(frozen=True)
class Override:
    check: str
    warning: float | None
    critical: float | None
    account: str = ""
    stream: str = ""
    consumer: str = ""


class Thresholds:
    """defaults: check -> (warning, critical) from settings; overrides: rows from the UI."""

    def __init__(self, defaults: Mapping[str, tuple[float | None, float | None]],
                 overrides: Iterable[Override] = ()):
        self.defaults = {check: Limits(w, c, "settings") if (w, c) != (None, None) else NO_LIMITS
                         for check, (w, c) in dict(defaults).items()}
        self.overrides = {(o.check, o.account, o.stream, o.consumer): o for o in overrides}
        self.overridden = {o.check for o in overrides}

    def limits(self, check: str, *, account: str = "", stream: str = "", consumer: str = "",
               metadata: Mapping[str, str] | None = None) -> Limits:
        if check in self.overridden:
            for scope in ((account, stream, consumer), (account, stream, ""), (account, "", ""), ("", "", "")):
                found = self.overrides.get((check, *scope))
                if found is not None:
                    return Limits(found.warning, found.critical, "override")
        if metadata:
            from_metadata = metadata_limits(check, metadata)
            if from_metadata.active:
                return from_metadata
        return self.defaults.get(check, NO_LIMITS)


def monitor_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    """Only the io.nats.monitor.* keys (most streams and consumers have none)."""
    return {k: v for k, v in (metadata or {}).items() if k.startswith(METADATA_PREFIX)}


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d|w|y)")
_DURATION_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600,
                     "d": 86400, "w": 7 * 86400, "y": 365 * 86400}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*([KMGTP]?)(I?B?)\s*$", re.IGNORECASE)


def parse_duration(text: str) -> float:
    """Go-style durations ("5m", "1h30m", "90s", "250ms", also "1d"), or plain seconds, as seconds."""
    text = str(text).strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"{text!r} is not a duration such as 5m or 1h30m")
        return seconds
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{text!r} is not a duration such as 5m or 1h30m")
    seconds = sum(float(number) * _DURATION_SECONDS[unit] for number, unit in parts)
    if not math.isfinite(seconds):
        raise ValueError(f"{text!r} is not a duration such as 5m or 1h30m")
    return seconds


def parse_size(text: str) -> float:
    """1000, 10KB, 5MiB, 1G -> bytes (K, M, G, T, P as powers of 1024, as natscli reads sizes)."""
    match = _SIZE.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a size such as 1000, 10MB or 1GiB")
    number, unit, _ = match.groups()
    power = "KMGTP".find(unit.upper()) + 1 if unit else 0
    size = float(number) * 1024 ** power
    if not math.isfinite(size):
        raise ValueError(f"{text!r} is not a size such as 1000, 10MB or 1GiB")
    return size


def parse_count(text: str) -> float:
    value = float(str(text).strip().replace("_", ""))
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{text!r} is not a count")
    return value


_PARSERS = {"count": parse_count, "duration": parse_duration, "size": parse_size}


def metadata_limits(check: str, metadata: Mapping[str, str]) -> Limits:
    """Thresholds from io.nats.monitor.<stem>-warn / -critical, as natscli reads them."""
    entry = CONSUMER_METADATA.get(check) or STREAM_METADATA.get(check)
    if entry is None:
        if check == "stream.last_message" and f"{METADATA_PREFIX}seen-critical" in metadata:
            try:
                return Limits(None, parse_duration(metadata[f"{METADATA_PREFIX}seen-critical"]), "metadata")
            except ValueError:
                return NO_LIMITS
        return NO_LIMITS
    stem, kind = entry
    values = []
    for suffix in ("warn", "critical"):
        raw = metadata.get(f"{METADATA_PREFIX}{stem}-{suffix}")
        try:
            values.append(_PARSERS[kind](raw) if raw not in (None, "") else None)
        except ValueError:
            values.append(None)
    return Limits(values[0], values[1], "metadata") if values != [None, None] else NO_LIMITS


def metadata_errors(metadata: Mapping[str, str]) -> list[str]:
    """io.nats.monitor.* keys whose values cannot be read, for the health page."""
    errors = []
    kinds = {stem: kind for stem, kind in (*CONSUMER_METADATA.values(), *STREAM_METADATA.values())}
    kinds.update({"seen": "duration", "peer-expect": "count", "peer-lag": "count"})
    for key, raw in metadata.items():
        if not key.startswith(METADATA_PREFIX):
            continue
        stem = key[len(METADATA_PREFIX):].rsplit("-", 1)[0] if key.endswith(("-warn", "-critical")) \
            else key[len(METADATA_PREFIX):]
        kind = kinds.get(stem)
        if kind is None:
            continue
        try:
            _PARSERS[kind](raw)
        except ValueError as error:
            errors.append(f"{key}: {error}")
    return errors


def judge(value: float | None, limits: Limits, *, lower_is_worse: bool = False) -> tuple[str, float | None]:
    """The state of a value against limits, and the threshold that decided it."""
    if value is None:
        return OK, limits.warning

    def crosses(threshold):
        return threshold is not None and (value <= threshold if lower_is_worse else value >= threshold)

    if crosses(limits.critical):
        return CRITICAL, limits.critical
    if crosses(limits.warning):
        return WARNING, limits.warning
    return OK, limits.warning if limits.warning is not None else limits.critical


@functools.lru_cache(maxsize=1024)
def _bounds(limits: Limits, unit: str) -> str:
    bounds = ", ".join(f"{name} {_number(v)}{unit}" for name, v in (("warning", limits.warning),
                                                                    ("critical", limits.critical)) if v is not None)
    return f" ({bounds}; from {limits.source})" if bounds else ""


def _judged(check: str, target: str, account: str, value, limits: Limits, what: str, figures: dict | None = None,
            *, lower_is_worse: bool = False, unit: str = "") -> CheckResult:
    state, threshold = judge(value, limits, lower_is_worse=lower_is_worse)
    shown = "–" if value is None else f"{_number(value)}{unit}"
    message = f"{what} {shown}{_bounds(limits, unit)}"
    return CheckResult(check, target, account, state, None if value is None else float(value), threshold, message,
                       {**(figures or {}), "warning": limits.warning, "critical": limits.critical,
                        "threshold_source": limits.source}, lower_is_worse)


def _number(value) -> str:
    if value is None:
        return "–"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


# -- the polled state ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeView:
    name: str
    status: str  # "up", "down", "unknown"
    error: str = ""
    figures: Mapping = field(default_factory=dict)


@dataclass(frozen=True)
class AccountView:
    name: str
    jetstream: Mapping | None = None  # {"memory", "storage", "limits": {"max_memory", "max_storage"}}


@dataclass(frozen=True)
class PolledState:
    cluster: str
    now: datetime
    nodes: tuple[NodeView, ...] = ()
    topology: Mapping = field(default_factory=dict)
    streams: tuple[Mapping, ...] = ()  # clusters.state.stream_dict rows
    accounts: tuple[AccountView, ...] = ()


@dataclass(frozen=True)
class Settings:
    """The settings checks read beyond thresholds."""

    slow_consumer_window: float = 300.0
    leafnode_memory: float = 86400.0  # seconds a leafnode that went away is still expected


def evaluate(state: PolledState, thresholds: Thresholds, memory: Mapping | None = None,
             options: Settings = Settings()) -> tuple[list[CheckResult], dict]:
    """Every check over one poll's state; returns the results and the memory for the next call."""
    memory = dict(memory or {})
    new_memory: dict = {}
    results: list[CheckResult] = []
    results += node_checks(state, thresholds, memory, new_memory, options)
    results += mesh_checks(state, thresholds, memory, new_memory, options)
    results += meta_checks(state)
    results += stream_checks(state, thresholds, memory, new_memory)
    results += account_checks(state, thresholds)
    return results, new_memory


# Checks whose fine results are stored one by one; stream and consumer checks, of which a cluster may
# have tens of thousands, are stored when failing and otherwise counted per account and check.
DETAILED_FAMILIES = ("node.", "mesh.", "meta.", "account.")


def for_storage(results: Iterable[CheckResult]) -> tuple[list[dict], dict[str, dict[str, int]]]:
    """The rows to keep, and the fine stream and consumer results counted: {account: {check: n}}."""
    rows, fine = [], {}
    for result in results:
        if result.failing or result.check.startswith(DETAILED_FAMILIES):
            rows.append(result.as_dict())
        else:
            counts = fine.setdefault(result.account, {})
            counts[result.check] = counts.get(result.check, 0) + 1
    return rows, fine


def worst(states: Iterable[str]) -> str:
    return max(states, key=lambda s: _RANK.get(s, 0), default=OK)


# -- nodes --------------------------------------------------------------------------------------


def _parse_time(value) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def node_checks(state: PolledState, thresholds: Thresholds, memory: Mapping, new_memory: dict,
                options: Settings) -> list[CheckResult]:
    results = []
    slow_memory = memory.get("slow", {})
    start_memory = memory.get("starts", {})
    new_memory["slow"], new_memory["starts"] = {}, {}
    for node in state.nodes:
        if node.status == "unknown":
            continue
        if node.status != "up":
            if node.name in start_memory:
                new_memory["starts"][node.name] = start_memory[node.name]
            if node.name in slow_memory:
                new_memory["slow"][node.name] = slow_memory[node.name]
            results.append(CheckResult("node.unreachable", node.name, "", CRITICAL, 1.0, None,
                                       f"{node.name} is unreachable: {node.error or 'no answer'}",
                                       {"error": node.error}))
            continue
        figures = node.figures
        results.append(CheckResult("node.unreachable", node.name, "", OK, 0.0, None, f"{node.name} answers",
                                   {"version": figures.get("version", "")}))
        started = _parse_time(figures.get("start"))
        # A restart is a start time other than the one seen before (the server id changes too).
        seen = start_memory.get(node.name) or {}
        restarted = bool(seen.get("restarted")) or (bool(seen.get("start")) and seen["start"] != figures.get("start"))
        if figures.get("start"):
            new_memory["starts"][node.name] = {"start": figures["start"], "restarted": restarted}
        elif seen:
            new_memory["starts"][node.name] = seen
        if started is not None and restarted:
            uptime = max(0.0, (state.now - started).total_seconds())
            results.append(_judged("node.restarted", node.name, "", round(uptime), thresholds.limits("node.restarted"),
                                   "uptime", {"start": figures.get("start")}, lower_is_worse=True, unit=" s"))
        cpu, cores = figures.get("cpu"), figures.get("cores") or 0
        if cpu is not None:
            per_core = round(float(cpu) / cores, 1) if cores else float(cpu)
            results.append(_judged("node.cpu", node.name, "", per_core, thresholds.limits("node.cpu"),
                                   "CPU per core", {"cpu": cpu, "cores": cores}, unit="%"))
        if figures.get("mem") is not None:
            mib = round(figures["mem"] / 1048576, 1)
            results.append(_judged("node.memory", node.name, "", mib, thresholds.limits("node.memory"),
                                   "memory", {"mem": figures["mem"]}, unit=" MiB"))
        connections, most = figures.get("connections"), figures.get("max_connections")
        if connections is not None and most:
            percent = round(100.0 * connections / most, 1)
            results.append(_judged("node.connections", node.name, "", percent, thresholds.limits("node.connections"),
                                   f"{connections:,} of {most:,} connections,", {"connections": connections,
                                                                                "max_connections": most}, unit="%"))
        slow = figures.get("slow_consumers")
        if slow is not None:
            history = [(at, count) for at, count in slow_memory.get(node.name, [])
                       if (state.now - _parse_time(at)).total_seconds() <= options.slow_consumer_window
                       and count <= slow]  # a restart resets the counter
            history.append((state.now.isoformat(), slow))
            new_memory["slow"][node.name] = history[-50:] if len(history) > 50 else history
            added = slow - min(count for _, count in history)
            results.append(_judged("node.slow_consumers", node.name, "", added,
                                   thresholds.limits("node.slow_consumers"),
                                   f"slow consumers added in {int(options.slow_consumer_window)} s:",
                                   {"slow_consumers": slow}))
    return results


# -- the mesh -----------------------------------------------------------------------------------


def _findings(state: PolledState, *kinds: str) -> list[Mapping]:
    return [f for f in state.topology.get("findings", []) if f.get("kind") in kinds]


def mesh_checks(state: PolledState, thresholds: Thresholds, memory: Mapping, new_memory: dict,
                options: Settings) -> list[CheckResult]:
    if not state.nodes:
        return []
    results = []
    registered = sorted(node.name for node in state.nodes)
    edges = state.topology.get("edges", [])
    routes = {tuple(sorted((e["source"], e["target"]))) for e in edges if e.get("kind") == "route"}
    missing = [pair for pair in combinations(registered, 2) if pair not in routes]
    if len(registered) > 1:
        what = "pairs without a route:" if not missing else \
            f"no route between {', '.join(f'{a} and {b}' for a, b in missing)}:"
        results.append(_judged("mesh.partial", "routes", "", len(missing), thresholds.limits("mesh.partial"),
                                what, {"missing": [list(p) for p in missing], "routes": len(routes),
                                       "expected": len(registered) * (len(registered) - 1) // 2}))
    short = _findings(state, "degraded_pool", "one_sided_route")
    if routes or short:
        results.append(_judged("mesh.route_pool", "routes", "", len(short), thresholds.limits("mesh.route_pool"),
                               "; ".join(f["message"] for f in short) + " —" if short else "short route pools:",
                               {"findings": [f["message"] for f in short]}))
    gateway_down = _findings(state, "gateway_down")
    if gateway_down or any(e.get("kind") == "gateway" for e in edges):
        results.append(_judged("mesh.gateways", "gateways", "", len(gateway_down),
                               thresholds.limits("mesh.gateways"),
                               "; ".join(f["message"] for f in gateway_down) + " —" if gateway_down
                               else "missing outbound gateways:", {"findings": [f["message"] for f in gateway_down]}))
    seen = _leafnode_memory(memory)
    now_leafs = {key for key in (_leafnode_key(e) for e in edges if e.get("kind") == "leafnode") if key}
    gone = sorted(leaf for leaf, at in seen.items() if leaf not in now_leafs and _parse_time(at) is not None
                  and (state.now - _parse_time(at)).total_seconds() <= options.leafnode_memory)
    new_memory["leafnodes"] = {**{leaf: seen[leaf] for leaf in gone},
                               **{leaf: state.now.isoformat() for leaf in now_leafs}}
    if now_leafs or gone:
        results.append(_judged("mesh.leafnodes", "leafnodes", "", len(gone), thresholds.limits("mesh.leafnodes"),
                               f"leafnodes gone: {', '.join(gone)};" if gone else "leafnodes gone:",
                               {"gone": gone, "connected": len(now_leafs)}))
    return results


def _leafnode_key(edge: Mapping) -> str:
    """A leafnode connection as "LEAF/ACCOUNT" (or "LEAF" without an account): the leaf server and
    the account, not the hub server it reached, so a leaf that reconnects to another node of the hub
    cluster is the same leafnode. Edges go hub -> "leaf:<remote>", or, when the polled server is
    itself the leaf, "leaf:<hub>" -> the polled server."""
    source, target = str(edge.get("source") or ""), str(edge.get("target") or "")
    if target.startswith("leaf:"):
        leaf = target[len("leaf:"):]
    elif source.startswith("leaf:"):
        leaf = target
    else:
        return ""
    account = edge.get("account") or ""
    return f"{leaf}/{account}" if account else leaf


_OLD_LEAF_EDGE_ID = re.compile(r"^leafnode:(?P<source>.+?)->(?P<target>[^/]+)(?:/(?P<account>.*))?$")


def _leafnode_memory(memory: Mapping) -> dict[str, str]:
    """Leafnodes seen, by _leafnode_key. Memory written before held edge ids under "leafs"; they are
    read by leaf and account too, so an upgrade does not report every leafnode gone."""
    if "leafnodes" in memory:
        return dict(memory["leafnodes"])
    seen: dict[str, str] = {}
    for edge_id, at in dict(memory.get("leafs", {})).items():
        match = _OLD_LEAF_EDGE_ID.match(edge_id)
        key = _leafnode_key(match.groupdict()) if match else ""
        if key and (key not in seen or str(at) > seen[key]):
            seen[key] = at
    return seen


# -- JetStream meta group -----------------------------------------------------------------------


def meta_checks(state: PolledState) -> list[CheckResult]:
    if not any(node.figures.get("jetstream") for node in state.nodes if node.status == "up"):
        return []
    results = []
    leaderless = _findings(state, "no_meta_leader")
    leader = state.topology.get("meta_leader") or ""
    if leaderless:
        results.append(CheckResult("meta.leader", "meta", "", CRITICAL, 0.0, None, leaderless[0]["message"],
                                   {"leader": leader}))
    else:
        results.append(CheckResult("meta.leader", "meta", "", OK, 1.0, None, f"meta leader {leader or '?'}",
                                   {"leader": leader}))
    offline = _findings(state, "meta_replica_offline")
    lagging = _findings(state, "meta_replica_lagging")
    status = CRITICAL if offline else WARNING if lagging else OK
    message = "; ".join(f["message"] for f in offline + lagging) or "meta group peers current"
    results.append(CheckResult("meta.replicas", "meta", "", status, float(len(offline) + len(lagging)), None, message,
                               {"offline": len(offline), "lagging": len(lagging)}))
    return results


# -- streams and consumers ----------------------------------------------------------------------


def _meta_value(metadata: Mapping, key: str, parser) -> float | None:
    raw = metadata.get(METADATA_PREFIX + key)
    if raw in (None, ""):
        return None
    try:
        return parser(raw)
    except ValueError:
        return None


def stream_checks(state: PolledState, thresholds: Thresholds, memory: Mapping, new_memory: dict) -> list[CheckResult]:
    results = []
    ack_memory = memory.get("ack", {})
    new_memory["ack"] = {}
    for stream in state.streams:
        account, name = stream.get("account", ""), stream.get("name", "")
        metadata = monitor_metadata(stream.get("metadata"))
        limits = lambda check: thresholds.limits(check, account=account, stream=name, metadata=metadata)  # noqa: E731
        replicas_wanted = int(stream.get("num_replicas") or 1)
        expected = _meta_value(metadata, "peer-expect", parse_count)
        errors = metadata_errors(metadata) if metadata else []
        base = {"metadata_errors": errors} if errors else {}
        if replicas_wanted > 1:
            leader = stream.get("leader") or ""
            results.append(CheckResult("stream.leader", name, account, OK if leader else CRITICAL,
                                       1.0 if leader else 0.0, None,
                                       f"leader {leader}" if leader else f"stream {name} has no leader", base))
        if replicas_wanted > 1 or expected is not None:
            results.append(_stream_replicas(stream, expected, _meta_value(metadata, "peer-lag-critical", parse_count),
                                            base))
        percents = {}
        for figure, limit_key in (("messages", "max_msgs"), ("bytes", "max_bytes")):
            limit = stream.get(limit_key)
            if limit and limit > 0:
                percents[figure] = round(100.0 * (stream.get(figure) or 0) / limit, 1)
        if percents:
            figure = max(percents, key=percents.get)
            results.append(_judged("stream.limits", name, account, percents[figure], limits("stream.limits"),
                                   f"{figure} at", {**base, **percents}, unit="% of its limit"))
        for check, figure in (("stream.messages", "messages"), ("stream.bytes", "bytes")):
            found = limits(check)
            if found.active:
                # natscli: critical below warning means "at least this many" (lower is worse).
                lower = found.warning is not None and found.critical is not None and found.warning > found.critical
                results.append(_judged(check, name, account, stream.get(figure) or 0, found, figure, base,
                                       lower_is_worse=lower))
        found = limits("stream.last_message")
        if found.active:
            last = _parse_time(stream.get("last_ts"))
            age = round((state.now - last).total_seconds()) if last else None
            result = _judged("stream.last_message", name, account, age, found, "last message", base, unit=" s ago")
            if last is None:
                result = CheckResult(result.check, name, account, CRITICAL if found.critical is not None else WARNING,
                                     None, found.critical or found.warning, "no message seen yet", result.figures)
            results.append(result)
        for consumer in stream.get("consumers") or []:
            results += consumer_checks(state, thresholds, stream, consumer, ack_memory, new_memory["ack"])
    return results


def _stream_replicas(stream: Mapping, expected: float | None, lag_critical: float | None, base: dict) -> CheckResult:
    name, account = stream.get("name", ""), stream.get("account", "")
    wanted = int(stream.get("num_replicas") or 1)
    peers = list(stream.get("replicas") or [])
    offline = [p["name"] for p in peers if p.get("offline")]
    lagging = [p["name"] for p in peers if not p.get("offline") and
               (not p.get("current") or (lag_critical is not None and (p.get("lag") or 0) >= lag_critical))]
    missing = max(0, wanted - 1 - len(peers)) if stream.get("leader") else 0
    problems = []
    if offline:
        problems.append(f"offline: {', '.join(offline)}")
    if missing:
        problems.append(f"{missing} replica(s) missing")
    if lagging:
        problems.append(f"lagging: {', '.join(lagging)}")
    status = CRITICAL if offline or missing else WARNING if lagging else OK
    if expected is not None and int(expected) != wanted:
        problems.append(f"{wanted} replicas, {int(expected)} expected (io.nats.monitor.peer-expect)")
        status = CRITICAL
    message = "; ".join(problems) or f"{wanted} replicas current"
    return CheckResult("stream.replicas", name, account, status, float(len(offline) + missing + len(lagging)), None,
                       message, {**base, "replicas": wanted, "offline": offline, "lagging": lagging,
                                 "missing": missing, "peer_expect": expected, "peer_lag_critical": lag_critical})


def consumer_checks(state: PolledState, thresholds: Thresholds, stream: Mapping, consumer: Mapping,
                    ack_memory: Mapping, new_ack_memory: dict) -> list[CheckResult]:
    account, stream_name, name = stream.get("account", ""), stream.get("name", ""), consumer.get("name", "")
    target = f"{stream_name}/{name}"
    metadata = monitor_metadata(consumer.get("metadata"))
    errors = metadata_errors(metadata) if metadata else []
    base = {"metadata_errors": errors} if errors else {}

    def limits(check):
        return thresholds.limits(check, account=account, stream=stream_name, consumer=name, metadata=metadata)

    results = []
    for check, figure, what in (("consumer.num_pending", "num_pending", "pending"),
                                ("consumer.num_ack_pending", "num_ack_pending", "ack pending"),
                                ("consumer.num_redelivered", "num_redelivered", "redelivered"),
                                ("consumer.num_waiting", "num_waiting", "waiting pulls")):
        found = limits(check)
        if found.active:
            results.append(_judged(check, target, account, consumer.get(figure) or 0, found, what, base))

    # Stalled: a backlog while the ack floor stays still. The memory keeps when it last moved.
    memory_key = f"{account}/{target}"
    floor = consumer.get("ack_floor_stream_seq") or 0
    backlog = (consumer.get("num_pending") or 0) + (consumer.get("num_ack_pending") or 0)
    previous = ack_memory.get(memory_key)
    since = state.now
    if previous and previous[0] == floor and backlog:
        since = _parse_time(previous[1]) or state.now
    new_ack_memory[memory_key] = [floor, since.isoformat()]
    found = limits("consumer.stalled")
    if found.active:
        still = round((state.now - since).total_seconds()) if backlog else 0
        results.append(_judged("consumer.stalled", target, account, still, found,
                               f"backlog {backlog:,}, ack floor {floor:,} still for", {**base, "ack_floor": floor,
                                                                                     "backlog": backlog}, unit=" s"))
    for check, figure, what in (("consumer.last_delivery", "last_delivered", "last delivery"),
                                ("consumer.last_ack", "last_acked", "last ack")):
        found = limits(check)
        if not found.active:
            continue
        moment = _parse_time(consumer.get(figure))
        if moment is None:
            results.append(CheckResult(check, target, account, CRITICAL if found.critical is not None else WARNING,
                                       None, found.critical if found.critical is not None else found.warning,
                                       f"no {what} yet", {**base, "warning": found.warning,
                                                          "critical": found.critical,
                                                          "threshold_source": found.source}))
            continue
        results.append(_judged(check, target, account, round((state.now - moment).total_seconds()), found, what, base,
                               unit=" s ago"))
    return results


# -- accounts -----------------------------------------------------------------------------------


def account_checks(state: PolledState, thresholds: Thresholds) -> list[CheckResult]:
    results = []
    for account in state.accounts:
        jetstream = account.jetstream
        if not jetstream:
            continue  # usage not known: the check is skipped
        limits_of = jetstream.get("limits") or {}
        for check, used_key, limit_key in (("account.memory", "memory", "max_memory"),
                                           ("account.storage", "storage", "max_storage")):
            limit, used = limits_of.get(limit_key), jetstream.get(used_key)
            if not limit or limit <= 0 or used is None:
                continue
            percent = round(100.0 * used / limit, 1)
            results.append(_judged(check, account.name, account.name, percent,
                                   thresholds.limits(check, account=account.name),
                                   f"{used_key} {used:,} of {limit:,} bytes,", {"used": used, "limit": limit},
                                   unit="%"))
    return results
