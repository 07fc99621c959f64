"""Reads for the account pages, the team home and the cross-account overview, scoped to what a
user may see (clusters.selectors); the live figures of one account come from the monitoring
endpoints and the JetStream API through clusters.monitoring and streams.jetstream."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Max, Min
from django.utils import timezone

from accounts import attention, services
from clusters import monitoring
from clusters import selectors as cluster_selectors
from clusters.account_figures import public_figures
from clusters.models import Account, ConsumerSample, Membership, Resolution, Role
from clusters.selectors import ROLE_RANK
from streams import jetstream as jetstream_api
from streams import selectors as stream_selectors

CONNECTIONS_PER_NODE = 1024
CONNECTION_TOTALS = ("msgs_in", "msgs_out", "bytes_in", "bytes_out", "pending_bytes", "subscriptions")


def accounts_of_cluster(user, cluster) -> list[Account]:
    return list(cluster_selectors.visible_accounts(user).filter(cluster=cluster).select_related("cluster"))


def account_streams(user, account: Account) -> list[dict]:
    """The account's streams with their consumers, from the latest poll."""
    texts, _ = stream_selectors.streams_json_for(user, account.cluster, account=account.name)
    return [json.loads(text) for text in texts]


def pending_consumers(streams: list[dict]) -> set[tuple[str, str]]:
    """(stream, consumer) of the consumers with messages pending at the latest poll: the only
    ones that can be stalled."""
    return {(stream.get("name", ""), consumer.get("name", "")) for stream in streams
            for consumer in stream.get("consumers") or [] if (consumer.get("num_pending") or 0) > 0}


def _samples_of(account: Account, wanted: set[tuple[str, str]], since):
    """The raw samples of the `wanted` consumers since `since` (a superset: the caller matches
    the pairs)."""
    return ConsumerSample.objects.filter(
        cluster=account.cluster, account=account.name, resolution=Resolution.RAW, at__gte=since,
        stream__in={stream for stream, _ in wanted}, consumer__in={consumer for _, consumer in wanted},
        num_pending__isnull=False)


def consumer_samples(account: Account, seconds: int, wanted: set[tuple[str, str]]) -> dict[tuple[str, str], list]:
    """(stream, consumer) -> [(at, num_pending, ack_floor_stream_seq)], oldest first, of the
    `wanted` consumers over the last `seconds` and a margin (so that a floor unchanged for the
    whole window shows)."""
    if not wanted:
        return {}
    since = timezone.now() - timedelta(seconds=seconds * 2 + 60)
    rows = (_samples_of(account, wanted, since).order_by("at")
            .values_list("stream", "consumer", "at", "num_pending", "ack_floor_stream_seq"))
    series: dict[tuple[str, str], list] = {}
    for stream, consumer, at, pending, floor in rows:
        if (stream, consumer) in wanted:
            series.setdefault((stream, consumer), []).append((at, pending, floor))
    return series


def consumer_sample_ends(account: Account, seconds: int, wanted: set[tuple[str, str]]
                         ) -> dict[tuple[str, str], list]:
    """The compact form of consumer_samples for lists of many accounts: one aggregated row per
    consumer over the window (first and last sample time, lowest and highest ack floor), given
    as two samples. An ack floor only moves forward, so equal lowest and highest floors mean it
    stood still across the window, which is what the stalled rule asks."""
    if not wanted:
        return {}
    since = timezone.now() - timedelta(seconds=seconds + 60)
    rows = (_samples_of(account, wanted, since).order_by().values("stream", "consumer")
            .annotate(first=Min("at"), last=Max("at"), low=Min("ack_floor_stream_seq"),
                      high=Max("ack_floor_stream_seq"), pending=Max("num_pending"))
            .values_list("stream", "consumer", "first", "last", "low", "high", "pending"))
    return {(stream, consumer): [(first, pending, low), (last, pending, high)]
            for stream, consumer, first, last, low, high, pending in rows if (stream, consumer) in wanted}


def attention_for(account: Account, streams: list[dict], *, compact: bool = False) -> list[attention.Attention]:
    """What needs attention in an account. `compact` reads the consumer samples aggregated (for
    lists of many accounts) rather than every sample of the window (one account's page)."""
    thresholds = attention.Thresholds.from_settings(settings)
    read = consumer_sample_ends if compact else consumer_samples
    return attention.attention(figures=account.figures, jetstream=account.jetstream, streams=streams,
                               consumer_samples=read(account, thresholds.stalled_seconds,
                                                     pending_consumers(streams)),
                               now=timezone.now(), thresholds=thresholds)


def jetstream_dict(account: Account) -> dict:
    return {**(account.jetstream or {}), "usage": attention.usage(account.jetstream),
            "at": account.jetstream_at.isoformat() if account.jetstream_at else None,
            "error": account.jetstream_error}


def account_brief(account: Account, *, attention_items=None) -> dict:
    """What lists show of an account: stored figures and JetStream usage, no live reads."""
    figures = public_figures(account.figures)
    brief = {
        "cluster": account.cluster.name, "name": account.name, "is_system": account.is_system,
        "connections": figures.get("connections"), "subscriptions": figures.get("subscriptions"),
        "slow_consumers": figures.get("slow_consumers"), "slow_consumers_added": figures.get("slow_consumers_added"),
        "msgs_in_per_s": figures.get("msgs_in_per_s"), "msgs_out_per_s": figures.get("msgs_out_per_s"),
        "bytes_in_per_s": figures.get("bytes_in_per_s"), "bytes_out_per_s": figures.get("bytes_out_per_s"),
        "figures_at": figures.get("at"), "load": attention.load(figures), "jetstream": jetstream_dict(account),
    }
    if attention_items is not None:
        brief["attention"] = [item.as_dict() for item in attention_items]
    return brief


def home_accounts(user) -> list[dict]:
    """A member's teams' accounts across clusters, with what needs attention, most urgent first."""
    rows = []
    for account in cluster_selectors.visible_accounts(user).select_related("cluster").order_by("cluster__name",
                                                                                              "name"):
        rows.append(account_brief(account, attention_items=attention_for(account, account_streams(user, account),
                                                                         compact=True)))
    rows.sort(key=lambda row: (not row["attention"], row["cluster"], row["name"]))
    return rows


def roles_on(user, accounts: list[Account]) -> dict[int, str | None]:
    """The user's strongest role on each of `accounts` (by pk), in one query."""
    roles: dict[int, str | None] = {account.pk: None for account in accounts}
    if not user.is_authenticated:
        return roles
    if user.is_superuser:
        return {pk: Role.OPERATOR for pk in roles}
    for account_id, role in Membership.objects.filter(user=user, team__grants__account__in=list(roles)
                                                      ).values_list("team__grants__account", "role"):
        if roles.get(account_id) is None or ROLE_RANK[role] > ROLE_RANK[roles[account_id]]:
            roles[account_id] = role
    return roles


def overview_rows(user) -> list[dict]:
    """Every account the user sees (all, for superusers) side by side, busiest first."""
    accounts = cluster_selectors.visible_accounts(user).select_related("cluster")
    rows = [account_brief(account) for account in accounts]
    rows.sort(key=lambda row: (-row["load"], -(row["connections"] or 0), row["cluster"], row["name"]))
    return rows


# -- live figures of one account ----------------------------------------------------------------


@dataclass
class LiveAccount:
    connections: list[dict] = field(default_factory=list)
    totals: dict = field(default_factory=dict)
    connection_errors: list[dict] = field(default_factory=list)
    detail: monitoring.AccountDetail | None = None
    detail_error: str = ""
    jetstream_read: bool = False  # False: not asked (the system account has no JetStream of its own)
    jetstream: jetstream_api.AccountInfo | None = None
    jetstream_error: str = ""


def connection_rows(answers: list[monitoring.NodeConnections], server_names: dict[str, str]
                    ) -> tuple[list[dict], dict, list[dict]]:
    """Rows of every node's connections (each with its server's name), their totals, and the
    nodes that could not be read."""
    rows, errors = [], []
    for answer in answers:
        server = server_names.get(answer.monitor_url) or answer.monitor_url
        if answer.connz is None:
            errors.append({"server": server, "error": answer.error})
            continue
        for conn in answer.connz.connections:
            rows.append({
                "cid": conn.cid, "name": conn.name, "ip": conn.ip, "port": conn.port, "lang": conn.lang,
                "version": conn.version, "server": server, "start": conn.start.isoformat() if conn.start else None,
                "uptime": conn.uptime, "rtt": conn.rtt, "rtt_us": conn.rtt_us, "pending_bytes": conn.pending_bytes,
                "msgs_in": conn.msgs_in, "msgs_out": conn.msgs_out, "bytes_in": conn.bytes_in,
                "bytes_out": conn.bytes_out, "subscriptions": conn.subscriptions,
            })
        if answer.connz.total > len(answer.connz.connections):
            errors.append({"server": server, "error": f"showing {len(answer.connz.connections)} of "
                                                      f"{answer.connz.total} connections"})
    rows.sort(key=lambda row: (row["server"], row["cid"]))
    totals = {"connections": len(rows), **{name: sum(row[name] for row in rows) for name in CONNECTION_TOTALS}}
    return rows, totals, errors


def read_live(account: Account) -> LiveAccount:
    """Connections from every node, imports and exports from one, and the JetStream usage (or
    why it could not be read), all at once and each bounded in time. Reads only: keeping the
    usage is services.keep_live_jetstream's."""
    nodes = list(account.cluster.nodes.all())
    urls = [node.monitor_url for node in nodes]
    timeout = settings.MONITOR_TIMEOUT

    async def no_jetstream():
        return None, ""

    async def main():
        async with monitoring.new_client() as client:
            return await asyncio.gather(
                monitoring.fetch_connections(urls, account=account.name, limit=CONNECTIONS_PER_NODE,
                                             timeout=timeout, client=client),
                monitoring.fetch_account_detail(urls, account=account.name, timeout=timeout, client=client),
                # The system account has no JetStream of its own.
                no_jetstream() if account.is_system else services.read_account_info(
                    account, timeout=services.LIVE_TIMEOUT),
                return_exceptions=True)

    connections, detail, info = asyncio.run(main())
    live = LiveAccount()
    if isinstance(detail, monitoring.MonitoringError):
        live.detail_error = str(detail)
    elif isinstance(detail, BaseException):
        raise detail
    else:
        live.detail = detail
    if isinstance(connections, BaseException):
        raise connections
    live.connections, live.totals, live.connection_errors = connection_rows(
        connections, {node.monitor_url: node.display_name for node in nodes})
    if isinstance(info, BaseException):
        raise info
    if not account.is_system:
        live.jetstream_read, (live.jetstream, live.jetstream_error) = True, info
    return live


def detail_dict(detail: monitoring.AccountDetail | None) -> dict:
    if detail is None:
        return {"imports": [], "exports": []}
    return {
        "imports": [{"kind": i.kind, "account": i.account, "subject": i.subject, "local_subject": i.local_subject,
                     "invalid": i.invalid} for i in detail.imports],
        "exports": [{"kind": e.kind, "subject": e.subject, "token_required": e.token_required,
                     "approved_accounts": list(e.approved_accounts)} for e in detail.exports],
    }


def account_page(user, account: Account, role: str, *, live: LiveAccount) -> dict:
    """Everything the account page and its API show."""
    streams = account_streams(user, account)
    items = attention_for(account, streams)
    return {
        "cluster": account.cluster.name, "account": account.name, "is_system": account.is_system, "role": role,
        "figures": public_figures(account.figures),
        "jetstream": jetstream_dict(account),
        "connections": live.connections, "connection_totals": live.totals,
        "connection_errors": live.connection_errors,
        **detail_dict(live.detail), "detail_error": live.detail_error,
        "streams": streams,
        "attention": [item.as_dict() for item in items],
    }
