"""The only module that speaks HTTP to nats-server monitoring endpoints.

Everything returned is a frozen dataclass. Parsing treats every field as optional
and absorbs the differences between server versions (2.9 to 2.15): callers never
see raw JSON. Durations from the server are integer nanoseconds; `rtt` is a
string such as "506µs"; `reserved_memory` may be 2**64-1 (unlimited).
"""

from __future__ import annotations

import asyncio
import functools
import math
import re
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

import httpx

from core import aio

DEFAULT_TIMEOUT = 3.0
UNLIMITED_U64 = 2**64 - 1
JSZ_QUERY = {
    "accounts": "true",
    "streams": "true",
    "consumers": "true",
    "config": "true",
    # No "stream-leader-only": a consumer's figures (num_pending, ...) are right only on the
    # consumer's own leader, which is elected apart from its stream's leader; with that flag
    # (2.10+) a consumer led elsewhere is reported only by the stream leader, with zeros.
    # Every replica reports, and streams_by_leader() picks each leader's report.
}


class MonitoringError(Exception):
    """A monitoring endpoint could not be read: unreachable, timed out, bad status or body."""


# -- dataclasses -------------------------------------------------------------------------


@dataclass(frozen=True)
class Varz:
    server_id: str
    server_name: str
    version: str = ""
    cluster_name: str = ""
    start: datetime | None = None
    now: datetime | None = None
    cpu: float = 0.0
    mem: int = 0
    cores: int = 0
    connections: int = 0
    total_connections: int = 0
    subscriptions: int = 0
    slow_consumers: int = 0
    in_msgs: int = 0
    out_msgs: int = 0
    in_bytes: int = 0
    out_bytes: int = 0
    routes: int = 0  # route connections (pooled since 2.10)
    remotes: int | None = None  # distinct route peers; None before 2.10
    leafnodes: int = 0
    pool_size: int | None = None  # route pool size; None before 2.10
    cluster_urls: tuple[str, ...] = ()
    gateway_name: str = ""
    jetstream_enabled: bool = False
    max_payload: int = 0
    max_connections: int = 0
    host: str = ""
    port: int = 0


@dataclass(frozen=True)
class RouteConn:
    remote_name: str  # empty before the peer's name is known
    remote_id: str
    ip: str = ""
    port: int = 0
    rtt_us: float | None = None
    did_solicit: bool = False
    is_configured: bool = False
    pinned_account: str = ""  # a pinned account's own route (2.10+), else ""
    in_msgs: int = 0
    out_msgs: int = 0
    in_bytes: int = 0
    out_bytes: int = 0
    pending_size: int = 0
    subscriptions: int = 0

    @property
    def peer(self) -> str:
        return self.remote_name or self.remote_id


@dataclass(frozen=True)
class GatewayConn:
    remote_cluster: str
    direction: str  # "outbound" or "inbound"
    remote_server_id: str = ""
    ip: str = ""
    port: int = 0
    rtt_us: float | None = None
    in_msgs: int = 0
    out_msgs: int = 0


@dataclass(frozen=True)
class LeafConn:
    name: str  # the remote server's name (2.10+), else its address
    account: str
    ip: str = ""
    port: int = 0
    rtt_us: float | None = None
    is_spoke: bool = False
    in_msgs: int = 0
    out_msgs: int = 0
    subscriptions: int = 0


@dataclass(frozen=True)
class Healthz:
    ok: bool
    status: str = ""
    error: str = ""


@dataclass(frozen=True)
class PeerState:
    name: str
    current: bool = False
    offline: bool = False
    active_ns: int = 0
    lag: int = 0


@dataclass(frozen=True)
class MetaCluster:
    name: str
    leader: str  # "" when there is no leader
    cluster_size: int = 0
    replicas: tuple[PeerState, ...] = ()  # the other peers, as the reporting node sees them


@dataclass(frozen=True)
class ConsumerState:
    stream: str
    name: str
    num_pending: int = 0
    num_ack_pending: int = 0
    num_redelivered: int = 0
    num_waiting: int = 0
    delivered_consumer_seq: int = 0
    delivered_stream_seq: int = 0
    ack_floor_consumer_seq: int = 0
    ack_floor_stream_seq: int = 0
    last_active: datetime | None = None
    last_delivered: datetime | None = None  # delivered.last_active
    last_acked: datetime | None = None  # ack_floor.last_active
    leader: str = ""
    ack_policy: str = ""
    durable: bool = False
    paused: bool = False
    metadata: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class StreamState:
    account: str
    name: str
    subjects: tuple[str, ...] = ()
    storage: str = ""
    retention: str = ""
    num_replicas: int = 1
    leader: str = ""
    replicas: tuple[PeerState, ...] = ()  # followers as the reporting node sees them
    messages: int = 0
    bytes: int = 0
    first_seq: int = 0
    last_seq: int = 0
    first_ts: datetime | None = None
    last_ts: datetime | None = None
    num_subjects: int = 0
    consumer_count: int = 0
    max_msgs: int = -1
    max_bytes: int = -1
    max_age_ns: int = 0
    max_msgs_per_subject: int = -1
    discard: str = ""
    created: datetime | None = None
    metadata: tuple[tuple[str, str], ...] = ()
    consumers: tuple[ConsumerState, ...] = ()


@dataclass(frozen=True)
class AccountJetStream:
    name: str
    memory: int = 0
    storage: int = 0
    reserved_memory: int | None = None  # None: unlimited or unknown
    reserved_storage: int | None = None
    streams: tuple[StreamState, ...] = ()


@dataclass(frozen=True)
class Jsz:
    enabled: bool
    server_id: str = ""
    memory: int = 0
    storage: int = 0
    streams: int = 0
    consumers: int = 0
    messages: int = 0
    bytes: int = 0
    max_memory: int = 0
    max_storage: int = 0
    api_total: int = 0
    api_errors: int = 0
    meta: MetaCluster | None = None
    accounts: tuple[AccountJetStream, ...] = ()


@dataclass(frozen=True)
class AccountStatz:
    """One account's figures on one server (/accstatz). "sent" and "received" are the server's
    view: `sent_*` went from the server to the account's clients, `received_*` came from them.
    `*_routes` is the part of each that crossed routes to other servers of the cluster (2.10+;
    0 when the server does not break it down)."""

    account: str
    connections: int = 0
    leafnodes: int = 0
    total_connections: int = 0
    subscriptions: int | None = None  # None before 2.10
    slow_consumers: int = 0
    sent_msgs: int = 0
    sent_bytes: int = 0
    received_msgs: int = 0
    received_bytes: int = 0
    sent_route_msgs: int = 0
    sent_route_bytes: int = 0
    received_route_msgs: int = 0
    received_route_bytes: int = 0


@dataclass(frozen=True)
class ClientConn:
    """A client connection from /connz. in/out are named from the client's view (the server's
    `out_msgs` are the client's `msgs_in`)."""

    cid: int
    name: str = ""
    ip: str = ""
    port: int = 0
    lang: str = ""
    version: str = ""
    start: datetime | None = None
    uptime: str = ""
    rtt: str = ""
    rtt_us: float | None = None
    pending_bytes: int = 0
    msgs_in: int = 0
    msgs_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    subscriptions: int = 0


@dataclass(frozen=True)
class Connz:
    server_id: str
    total: int = 0  # connections matching the filter, beyond `limit` too
    connections: tuple[ClientConn, ...] = ()


@dataclass(frozen=True)
class NodeConnections:
    """One node's answer to fetch_connections; `error` set when it could not be read."""

    monitor_url: str
    connz: Connz | None = None
    error: str = ""


@dataclass(frozen=True)
class AccountImport:
    kind: str  # "stream" or "service"
    account: str  # the exporting account
    subject: str  # the subject in the exporting account
    local_subject: str  # where it appears in this account
    invalid: bool = False


@dataclass(frozen=True)
class AccountExport:
    kind: str
    subject: str
    token_required: bool = False
    approved_accounts: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccountDetail:
    """/accountz?acc=NAME on one server."""

    account: str
    jetstream_enabled: bool = False
    client_connections: int = 0
    leafnode_connections: int = 0
    subscriptions: int = 0
    imports: tuple[AccountImport, ...] = ()
    exports: tuple[AccountExport, ...] = ()


@dataclass(frozen=True)
class NodeSnapshot:
    """Everything one poll learned about one node; `varz is None` means the node is down."""

    monitor_url: str
    fetched_at: datetime
    elapsed_ms: float
    varz: Varz | None = None
    routes: tuple[RouteConn, ...] = ()
    gateways: tuple[GatewayConn, ...] = ()
    leafs: tuple[LeafConn, ...] = ()
    healthz: Healthz | None = None
    jsz: Jsz | None = None
    accstatz: tuple[AccountStatz, ...] | None = None  # None: not read (old server or error)
    error: str = ""  # why the node is down
    partial_errors: tuple[tuple[str, str], ...] = field(default=())  # (endpoint, error) for the rest

    @property
    def up(self) -> bool:
        return self.varz is not None

    @property
    def server_name(self) -> str:
        return self.varz.server_name if self.varz else ""


# -- small parsers -------------------------------------------------------------------------

_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_RTT = re.compile(rf"^\s*(?P<value>{_NUMBER})\s*(?P<unit>ns|µs|us|μs|ms|s|m|h)?\s*$")
_RTT_US = {"ns": 0.001, "µs": 1.0, "us": 1.0, "μs": 1.0, "ms": 1000.0, "s": 1_000_000.0,
           "m": 60_000_000.0, "h": 3_600_000_000.0}
_GO_DURATION_PART = re.compile(rf"({_NUMBER})(ns|µs|us|μs|ms|s|m|h)")


def parse_rtt_us(value) -> float | None:
    """'506µs' -> 506.0, '1.2ms' -> 1200.0, '1m2.5s' -> 62500000.0; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    match = _RTT.match(value)
    if match:
        return float(match["value"]) * _RTT_US[match["unit"] or "s"]
    parts = _GO_DURATION_PART.findall(value)
    if parts and "".join(f"{n}{u}" for n, u in parts) == value.strip():
        return sum(float(n) * _RTT_US[u] for n, u in parts)
    return None


def parse_time(value) -> datetime | None:
    """RFC 3339 with up to nanoseconds; the zero time ("0001-01-01T00:00:00Z") is None."""
    if not isinstance(value, str) or not value or value.startswith("0001-01-01"):
        return None
    text = value.strip().replace("Z", "+00:00")
    match = re.match(r"^(.*T\d\d:\d\d:\d\d)(\.\d+)?(.*)$", text)
    if match:
        fraction = (match[2] or "")[:7]  # datetime takes microseconds
        text = f"{match[1]}{fraction}{match[3]}"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _int(value, default: int = 0) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else default
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return default
    return default


def _float(value, default: float = 0.0) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return default


def _str(value) -> str:
    return value if isinstance(value, str) else ""


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _limit(value) -> int | None:
    number = _int(value, -1)
    return None if number < 0 or number >= UNLIMITED_U64 else number


def _metadata(value) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(k), str(v)) for k, v in _dict(value).items()))


# -- endpoint parsers ----------------------------------------------------------------------


def parse_varz(data: dict) -> Varz:
    data = _dict(data)
    cluster = _dict(data.get("cluster"))
    gateway = _dict(data.get("gateway"))
    jetstream = _dict(data.get("jetstream"))
    remotes = data.get("remotes")
    return Varz(
        server_id=_str(data.get("server_id")),
        server_name=_str(data.get("server_name")) or _str(data.get("server_id")),
        version=_str(data.get("version")),
        cluster_name=_str(cluster.get("name")),
        start=parse_time(data.get("start")),
        now=parse_time(data.get("now")),
        cpu=_float(data.get("cpu")),
        mem=_int(data.get("mem")),
        cores=_int(data.get("cores")),
        connections=_int(data.get("connections")),
        total_connections=_int(data.get("total_connections")),
        subscriptions=_int(data.get("subscriptions")),
        slow_consumers=_int(data.get("slow_consumers")),
        in_msgs=_int(data.get("in_msgs")),
        out_msgs=_int(data.get("out_msgs")),
        in_bytes=_int(data.get("in_bytes")),
        out_bytes=_int(data.get("out_bytes")),
        routes=_int(data.get("routes")),
        remotes=_int(remotes) if isinstance(remotes, int) else None,
        leafnodes=_int(data.get("leafnodes")),
        pool_size=_int(cluster["pool_size"]) if isinstance(cluster.get("pool_size"), int) else None,
        cluster_urls=tuple(str(u) for u in _list(cluster.get("urls"))),
        gateway_name=_str(gateway.get("name")),
        jetstream_enabled=bool(jetstream.get("config")) or bool(jetstream.get("stats")),
        max_payload=_int(data.get("max_payload")),
        max_connections=_int(data.get("max_connections")),
        host=_str(data.get("host")),
        port=_int(data.get("port")),
    )


def parse_routez(data: dict) -> tuple[RouteConn, ...]:
    data = _dict(data)
    routes = []
    for route in _list(data.get("routes")):
        route = _dict(route)
        routes.append(RouteConn(
            remote_name=_str(route.get("remote_name")),
            remote_id=_str(route.get("remote_id")),
            ip=_str(route.get("ip")),
            port=_int(route.get("port")),
            rtt_us=parse_rtt_us(route.get("rtt")),
            did_solicit=bool(route.get("did_solicit")),
            is_configured=bool(route.get("is_configured")),
            pinned_account=_str(route.get("account")),
            in_msgs=_int(route.get("in_msgs")),
            out_msgs=_int(route.get("out_msgs")),
            in_bytes=_int(route.get("in_bytes")),
            out_bytes=_int(route.get("out_bytes")),
            pending_size=_int(route.get("pending_size")),
            subscriptions=_int(route.get("subscriptions")),
        ))
    return tuple(routes)


def parse_gatewayz(data: dict) -> tuple[GatewayConn, ...]:
    data = _dict(data)
    gateways = []
    for direction, key in (("outbound", "outbound_gateways"), ("inbound", "inbound_gateways")):
        for remote_cluster, entries in _dict(data.get(key)).items():
            # outbound: one object per remote cluster; inbound: a list per remote cluster.
            for entry in entries if isinstance(entries, list) else [entries]:
                connection = _dict(_dict(entry).get("connection"))
                gateways.append(GatewayConn(
                    remote_cluster=str(remote_cluster),
                    direction=direction,
                    remote_server_id=_str(connection.get("name")),
                    ip=_str(connection.get("ip")),
                    port=_int(connection.get("port")),
                    rtt_us=parse_rtt_us(connection.get("rtt")),
                    in_msgs=_int(connection.get("in_msgs")),
                    out_msgs=_int(connection.get("out_msgs")),
                ))
    return tuple(gateways)


def parse_leafz(data: dict) -> tuple[LeafConn, ...]:
    data = _dict(data)
    leafs = []
    for leaf in _list(data.get("leafs")):
        leaf = _dict(leaf)
        address = f"{_str(leaf.get('ip'))}:{_int(leaf.get('port'))}"
        leafs.append(LeafConn(
            name=_str(leaf.get("name")) or address,
            account=_str(leaf.get("account")),
            ip=_str(leaf.get("ip")),
            port=_int(leaf.get("port")),
            rtt_us=parse_rtt_us(leaf.get("rtt")),
            is_spoke=bool(leaf.get("is_spoke")),
            in_msgs=_int(leaf.get("in_msgs")),
            out_msgs=_int(leaf.get("out_msgs")),
            subscriptions=_int(leaf.get("subscriptions")),
        ))
    return tuple(leafs)


def parse_healthz(status_code: int, data: dict) -> Healthz:
    data = _dict(data)
    status = _str(data.get("status"))
    error = _str(data.get("error"))
    if not error:
        errors = _list(data.get("errors"))
        error = "; ".join(_str(_dict(e).get("error")) for e in errors if _dict(e).get("error"))
    return Healthz(ok=status_code == 200 and status in ("ok", ""), status=status, error=error)


def _peers(value) -> tuple[PeerState, ...]:
    peers = []
    for peer in _list(value):
        peer = _dict(peer)
        peers.append(PeerState(
            name=_str(peer.get("name")),
            current=bool(peer.get("current")),
            offline=bool(peer.get("offline")),
            active_ns=_int(peer.get("active")),
            lag=_int(peer.get("lag")),
        ))
    return tuple(peers)


def parse_consumer(data: dict, stream: str) -> ConsumerState:
    data = _dict(data)
    config = _dict(data.get("config"))
    delivered = _dict(data.get("delivered"))
    ack_floor = _dict(data.get("ack_floor"))
    cluster = _dict(data.get("cluster"))
    return ConsumerState(
        stream=_str(data.get("stream_name")) or stream,
        name=_str(data.get("name")) or _str(config.get("durable_name")) or _str(config.get("name")),
        num_pending=_int(data.get("num_pending")),
        num_ack_pending=_int(data.get("num_ack_pending")),
        num_redelivered=_int(data.get("num_redelivered")),
        num_waiting=_int(data.get("num_waiting")),
        delivered_consumer_seq=_int(delivered.get("consumer_seq")),
        delivered_stream_seq=_int(delivered.get("stream_seq")),
        ack_floor_consumer_seq=_int(ack_floor.get("consumer_seq")),
        ack_floor_stream_seq=_int(ack_floor.get("stream_seq")),
        last_active=parse_time(ack_floor.get("last_active")) or parse_time(delivered.get("last_active")),
        last_delivered=parse_time(delivered.get("last_active")),
        last_acked=parse_time(ack_floor.get("last_active")),
        leader=_str(cluster.get("leader")),
        ack_policy=_str(config.get("ack_policy")),
        durable=bool(config.get("durable_name")),
        paused=bool(data.get("paused")),
        metadata=_metadata(config.get("metadata")),
    )


def parse_stream(data: dict, account: str) -> StreamState:
    data = _dict(data)
    config = _dict(data.get("config"))
    state = _dict(data.get("state"))
    cluster = _dict(data.get("cluster"))
    name = _str(data.get("name")) or _str(config.get("name"))
    return StreamState(
        account=account,
        name=name,
        subjects=tuple(str(s) for s in _list(config.get("subjects"))),
        storage=_str(config.get("storage")),
        retention=_str(config.get("retention")),
        num_replicas=max(1, _int(config.get("num_replicas"), 1)),
        leader=_str(cluster.get("leader")),
        replicas=_peers(cluster.get("replicas")),
        messages=_int(state.get("messages")),
        bytes=_int(state.get("bytes")),
        first_seq=_int(state.get("first_seq")),
        last_seq=_int(state.get("last_seq")),
        first_ts=parse_time(state.get("first_ts")),
        last_ts=parse_time(state.get("last_ts")),
        num_subjects=_int(state.get("num_subjects")),
        consumer_count=_int(state.get("consumer_count")),
        max_msgs=_int(config.get("max_msgs"), -1),
        max_bytes=_int(config.get("max_bytes"), -1),
        max_age_ns=_int(config.get("max_age")),
        max_msgs_per_subject=_int(config.get("max_msgs_per_subject"), -1),
        discard=_str(config.get("discard")),
        created=parse_time(data.get("created")),
        metadata=_metadata(config.get("metadata")),
        consumers=tuple(parse_consumer(_dict(c), name) for c in _list(data.get("consumer_detail"))),
    )


def parse_jsz(data: dict) -> Jsz:
    data = _dict(data)
    config = _dict(data.get("config"))
    api = _dict(data.get("api"))
    meta_data = _dict(data.get("meta_cluster"))
    meta = None
    if meta_data:
        meta = MetaCluster(
            name=_str(meta_data.get("name")),
            leader=_str(meta_data.get("leader")),
            cluster_size=_int(meta_data.get("cluster_size")),
            replicas=_peers(meta_data.get("replicas")),
        )
    accounts = []
    for account in _list(data.get("account_details")):
        account = _dict(account)
        name = _str(account.get("name")) or _str(account.get("id"))
        accounts.append(AccountJetStream(
            name=name,
            memory=_int(account.get("memory")),
            storage=_int(account.get("storage")),
            reserved_memory=_limit(account.get("reserved_memory")),
            reserved_storage=_limit(account.get("reserved_storage")),
            streams=tuple(parse_stream(_dict(s), name) for s in _list(account.get("stream_detail"))),
        ))
    disabled = data.get("disabled") is True or (not config and not meta_data and "memory" not in data)
    return Jsz(
        enabled=not disabled,
        server_id=_str(data.get("server_id")),
        memory=_int(data.get("memory")),
        storage=_int(data.get("storage")),
        streams=_int(data.get("streams")),
        consumers=_int(data.get("consumers")),
        messages=_int(data.get("messages")),
        bytes=_int(data.get("bytes")),
        max_memory=_int(config.get("max_memory")),
        max_storage=_int(config.get("max_storage")),
        api_total=_int(api.get("total")),
        api_errors=_int(api.get("errors")),
        meta=meta,
        accounts=tuple(accounts),
    )


def parse_accstatz(data: dict) -> tuple[AccountStatz, ...]:
    """/accstatz: 2.9 has no `num_subscriptions` and no per-kind (routes, gateways, leafs) split."""
    data = _dict(data)
    accounts = []
    for entry in _list(data.get("account_statz")):
        entry = _dict(entry)
        sent, received = _dict(entry.get("sent")), _dict(entry.get("received"))
        sent_routes, received_routes = _dict(sent.get("routes")), _dict(received.get("routes"))
        subscriptions = entry.get("num_subscriptions")
        accounts.append(AccountStatz(
            account=_str(entry.get("acc")) or _str(entry.get("name")),
            connections=_int(entry.get("conns")),
            leafnodes=_int(entry.get("leafnodes")),
            total_connections=_int(entry.get("total_conns")),
            subscriptions=_int(subscriptions) if isinstance(subscriptions, int) else None,
            slow_consumers=_int(entry.get("slow_consumers")),
            sent_msgs=_int(sent.get("msgs")),
            sent_bytes=_int(sent.get("bytes")),
            received_msgs=_int(received.get("msgs")),
            received_bytes=_int(received.get("bytes")),
            sent_route_msgs=_int(sent_routes.get("msgs")),
            sent_route_bytes=_int(sent_routes.get("bytes")),
            received_route_msgs=_int(received_routes.get("msgs")),
            received_route_bytes=_int(received_routes.get("bytes")),
        ))
    return tuple(account for account in accounts if account.account)


def parse_connz(data: dict) -> Connz:
    data = _dict(data)
    connections = []
    for conn in _list(data.get("connections")):
        conn = _dict(conn)
        connections.append(ClientConn(
            cid=_int(conn.get("cid")),
            name=_str(conn.get("name")),
            ip=_str(conn.get("ip")),
            port=_int(conn.get("port")),
            lang=_str(conn.get("lang")),
            version=_str(conn.get("version")),
            start=parse_time(conn.get("start")),
            uptime=_str(conn.get("uptime")),
            rtt=_str(conn.get("rtt")),
            rtt_us=parse_rtt_us(conn.get("rtt")),
            pending_bytes=_int(conn.get("pending_bytes")),
            # The server's out_msgs went to the client: the client's msgs_in, and so on.
            msgs_in=_int(conn.get("out_msgs")),
            msgs_out=_int(conn.get("in_msgs")),
            bytes_in=_int(conn.get("out_bytes")),
            bytes_out=_int(conn.get("in_bytes")),
            subscriptions=_int(conn.get("subscriptions")),
        ))
    return Connz(server_id=_str(data.get("server_id")), total=_int(data.get("total"), len(connections)),
                 connections=tuple(connections))


def parse_accountz(data: dict) -> AccountDetail | None:
    """/accountz?acc=NAME; None when the answer has no account detail. Imports: 2.10+ give
    `subject` (in the exporting account) and `local_subject`; 2.9 gives the local subject as
    `subject` and the exporting account's as `to`."""
    detail = _dict(_dict(data).get("account_detail"))
    if not detail:
        return None
    imports = []
    for entry in _list(detail.get("imports")):
        entry = _dict(entry)
        if "local_subject" in entry:
            remote, local = _str(entry.get("subject")), _str(entry.get("local_subject"))
        else:
            local, remote = _str(entry.get("subject")), _str(entry.get("to")) or _str(entry.get("subject"))
        imports.append(AccountImport(kind=_str(entry.get("type")), account=_str(entry.get("account")),
                                     subject=remote, local_subject=local, invalid=bool(entry.get("invalid"))))
    exports = []
    for entry in _list(detail.get("exports")):
        entry = _dict(entry)
        exports.append(AccountExport(
            kind=_str(entry.get("type")), subject=_str(entry.get("subject")),
            token_required=bool(entry.get("token_req")),
            approved_accounts=tuple(str(a) for a in _list(entry.get("approved_accounts")))))
    return AccountDetail(
        account=_str(detail.get("account_name")),
        jetstream_enabled=bool(detail.get("jetstream_enabled")),
        client_connections=_int(detail.get("client_connections")),
        leafnode_connections=_int(detail.get("leafnode_connections")),
        subscriptions=_int(detail.get("subscriptions")),
        imports=tuple(imports),
        exports=tuple(exports),
    )


# -- merging the nodes' reports ---------------------------------------------------------------


def streams_by_leader(snapshots: Iterable[NodeSnapshot]) -> tuple[StreamState, ...]:
    """One StreamState per (account, stream) out of the /jsz reports of a cluster's nodes.

    Every replica reports its streams, but the leader's report is the one to trust, and a
    consumer's figures (num_pending, num_ack_pending, num_waiting, ...) are right only on
    the consumer's own leader, which is elected apart from the stream's: other nodes report
    zeros. So the stream comes from the node that leads it and each consumer from the node
    that leads that consumer; when no such report exists (that leader is down) the first
    report stands in. Sorted by account and stream name.
    """
    reports: dict[tuple[str, str], list[tuple[str, StreamState]]] = {}
    for snapshot in snapshots:
        if snapshot.jsz is None:
            continue
        for account in snapshot.jsz.accounts:
            for stream in account.streams:
                reports.setdefault((stream.account, stream.name), []).append((snapshot.server_name, stream))
    merged = []
    for key in sorted(reports):
        views = reports[key]
        base = next((stream for node, stream in views if node and stream.leader == node), views[0][1])
        consumers = {consumer.name: consumer for consumer in base.consumers}
        for node, stream in views:
            for consumer in stream.consumers:
                if (node and consumer.leader == node) or consumer.name not in consumers:
                    consumers[consumer.name] = consumer
        merged.append(replace(base, consumers=tuple(consumers.values())))
    return tuple(merged)


def with_peer_names(snapshots: Iterable[NodeSnapshot]) -> list[NodeSnapshot]:
    """The snapshots, with each route's empty remote_name filled in from the polled nodes' varz.

    /routez has no remote_name before 2.10, only remote_id: the peer's server_id, new on every
    restart. A peer polled in the same round names it; routes to anything else keep "".
    """
    snapshots = list(snapshots)
    names = {s.varz.server_id: s.varz.server_name for s in snapshots if s.varz and s.varz.server_id}

    def named(route: RouteConn) -> RouteConn:
        if route.remote_name or route.remote_id not in names:
            return route
        return replace(route, remote_name=names[route.remote_id])

    return [replace(s, routes=tuple(named(r) for r in s.routes)) if s.routes else s for s in snapshots]


# -- fetching ---------------------------------------------------------------------------------


async def _get_json(client: httpx.AsyncClient, url: str, timeout: float,
                    params: dict | None = None, accept_statuses=(200,)) -> tuple[int, dict]:
    try:
        # httpx's timeout bounds each phase (connect, every read), not the whole request:
        # a server trickling its answer would never time out without this deadline.
        response = await asyncio.wait_for(client.get(url, params=params, timeout=timeout), timeout)
    except (httpx.TimeoutException, asyncio.TimeoutError):
        raise MonitoringError(f"timed out after {timeout:g}s") from None
    except httpx.HTTPError as exc:
        raise MonitoringError(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__) from None
    if response.status_code not in accept_statuses:
        raise MonitoringError(f"HTTP {response.status_code} {response.reason_phrase}".rstrip())
    try:
        body = response.json()
    except ValueError:
        raise MonitoringError("response is not JSON") from None
    if not isinstance(body, dict):
        raise MonitoringError("response is not a JSON object")
    return response.status_code, body


def _gateways_configured(varz: dict) -> bool:
    gateway = varz.get("gateway")
    return isinstance(gateway, dict) and bool(gateway.get("name"))


def _leafnodes_configured(varz: dict) -> bool:
    leaf = varz.get("leaf")
    listens = isinstance(leaf, dict) and (bool(leaf.get("port")) or bool(leaf.get("remotes")))
    return listens or bool(_int(varz.get("leafnodes")))


async def fetch_node(client: httpx.AsyncClient, monitor_url: str, *, timeout: float = DEFAULT_TIMEOUT,
                     jetstream: bool = True) -> NodeSnapshot:
    """Read one node's endpoints concurrently; never raises for the node's own failures."""
    base = monitor_url.rstrip("/")
    started = time.perf_counter()
    fetched_at = datetime.now().astimezone()
    # /varz first: it says whether gateways and leafnodes are configured, so a server without
    # them is spared two requests (a third of a poll's requests on most fleets).
    try:
        varz_answer = await _get_json(client, f"{base}/varz", timeout)
    except MonitoringError as error:
        return NodeSnapshot(monitor_url=monitor_url, fetched_at=fetched_at,
                            elapsed_ms=(time.perf_counter() - started) * 1000, error=str(error))
    requests = {
        "routez": _get_json(client, f"{base}/routez", timeout),
        "healthz": _get_json(client, f"{base}/healthz", timeout, accept_statuses=(200, 503)),
    }
    if _gateways_configured(varz_answer[1]):
        requests["gatewayz"] = _get_json(client, f"{base}/gatewayz", timeout)
    if _leafnodes_configured(varz_answer[1]):
        requests["leafz"] = _get_json(client, f"{base}/leafz", timeout)
    if jetstream:
        requests["jsz"] = _get_json(client, f"{base}/jsz", timeout, params=JSZ_QUERY)
    # Every account's figures, those without connections too (unused=1).
    requests["accstatz"] = _get_json(client, f"{base}/accstatz", timeout, params={"unused": "1"})
    results = await asyncio.gather(*requests.values(), return_exceptions=True)
    answers = dict(zip(requests, results))
    elapsed_ms = (time.perf_counter() - started) * 1000

    partial_errors = []
    parsed = {}
    parsers = {
        "routez": lambda status, body: parse_routez(body),
        "gatewayz": lambda status, body: parse_gatewayz(body),
        "leafz": lambda status, body: parse_leafz(body),
        "healthz": parse_healthz,
        "jsz": lambda status, body: parse_jsz(body),
        "accstatz": lambda status, body: parse_accstatz(body),
    }
    for endpoint, parse in parsers.items():
        if endpoint not in answers:
            continue
        answer = answers[endpoint]
        if isinstance(answer, BaseException):
            if endpoint == "accstatz" and str(answer).startswith("HTTP 404"):
                continue  # a server older than /accstatz: no account figures, not an error
            partial_errors.append((endpoint, str(answer)))
            continue
        parsed[endpoint] = parse(*answer)
    return NodeSnapshot(
        monitor_url=monitor_url,
        fetched_at=fetched_at,
        elapsed_ms=elapsed_ms,
        varz=parse_varz(varz_answer[1]),
        routes=parsed.get("routez", ()),
        gateways=parsed.get("gatewayz", ()),
        leafs=parsed.get("leafz", ()),
        healthz=parsed.get("healthz"),
        jsz=parsed.get("jsz"),
        accstatz=parsed.get("accstatz"),
        partial_errors=tuple(partial_errors),
    )


@functools.cache
def tls_context() -> ssl.SSLContext:
    """Built once per process: a new client would otherwise load the CA bundle on every poll."""
    return ssl.create_default_context()


def new_client() -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)
    return httpx.AsyncClient(limits=limits, follow_redirects=False, verify=tls_context())


def pooled_client(cluster_key) -> httpx.AsyncClient:
    """This thread's long-lived client for one cluster, for polls run on core.aio's loop: the
    connections to its nodes stay open between polls instead of being made every few seconds.
    One client per cluster: httpcore scans its whole pool for every request."""
    clients = aio.thread_local("monitoring_clients", dict)
    if cluster_key not in clients:
        clients[cluster_key] = new_client()
    return clients[cluster_key]


async def fetch_nodes(monitor_urls: list[str], *, timeout: float = DEFAULT_TIMEOUT,
                      jetstream: bool = True, client: httpx.AsyncClient | None = None) -> list[NodeSnapshot]:
    """All nodes at once through one client (a new one unless given); a dead or slow node costs at
    most its timeout. Routes carry their peer's name on every server version (see with_peer_names)."""
    if client is None:
        async with new_client() as own_client:
            return await fetch_nodes(monitor_urls, timeout=timeout, jetstream=jetstream, client=own_client)
    return with_peer_names(await asyncio.gather(
        *(fetch_node(client, url, timeout=timeout, jetstream=jetstream) for url in monitor_urls)))


async def fetch_connections(monitor_urls: list[str], *, account: str, limit: int = 1024,
                            timeout: float = DEFAULT_TIMEOUT,
                            client: httpx.AsyncClient | None = None) -> list[NodeConnections]:
    """One account's client connections on every node at once (/connz?acc=...), one entry per
    node in the given order; a node that cannot be read has its error instead."""
    if client is None:
        async with new_client() as own_client:
            return await fetch_connections(monitor_urls, account=account, limit=limit, timeout=timeout,
                                           client=own_client)
    params = {"acc": account, "limit": str(limit), "subs": "false"}

    async def one(url: str) -> NodeConnections:
        try:
            _, body = await _get_json(client, f"{url.rstrip('/')}/connz", timeout, params=params)
        except MonitoringError as error:
            return NodeConnections(monitor_url=url, error=str(error))
        return NodeConnections(monitor_url=url, connz=parse_connz(body))

    return list(await asyncio.gather(*(one(url) for url in monitor_urls)))


async def fetch_account_detail(monitor_urls: list[str], *, account: str, timeout: float = DEFAULT_TIMEOUT,
                               client: httpx.AsyncClient | None = None) -> AccountDetail | None:
    """/accountz?acc=... asked of every node at once, the first answer wins (imports and exports
    are the same on every node), the others are cancelled: one `timeout` bounds the whole.
    None when the account is unknown to the nodes that answered; MonitoringError when none did."""
    if client is None:
        async with new_client() as own_client:
            return await fetch_account_detail(monitor_urls, account=account, timeout=timeout, client=own_client)

    async def one(url: str) -> AccountDetail | None:
        _, body = await _get_json(client, f"{url.rstrip('/')}/accountz", timeout, params={"acc": account})
        return parse_accountz(body)

    tasks = {asyncio.ensure_future(one(url)): url for url in monitor_urls}
    answered = False
    try:
        for done in asyncio.as_completed(list(tasks)):
            try:
                detail = await done
            except MonitoringError:
                continue
            if detail is not None:
                return detail
            answered = True  # the account is unknown to that node
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if tasks and not answered:  # every request failed: say how, node by node, in their order
        raise MonitoringError("; ".join(f"{url}: {task.exception()}" for task, url in tasks.items()))
    return None
