"""Reads of JetStream state from the latest poll, scoped to the accounts a user may see."""

from __future__ import annotations

import json
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from clusters import selectors as cluster_selectors
from clusters.models import AccountStreams, ConsumerSample, StreamSample
from streams import backlog
from streams.models import AuditEntry

SORT_KEYS = {
    "account": lambda s: (s["account"], s["name"]),
    "name": lambda s: (s["name"], s["account"]),
    "messages": lambda s: s["messages"],
    "bytes": lambda s: s["bytes"],
    "consumers": lambda s: s["consumers"],
    "last": lambda s: s.get("last_ts") or "",
}


def visible_account_names(user, cluster) -> set[str]:
    return set(cluster_selectors.visible_accounts(user).filter(cluster=cluster).values_list("name", flat=True))


def _account_streams(user, cluster, account: str = ""):
    allowed = visible_account_names(user, cluster)
    if account:
        allowed &= {account}
    return AccountStreams.objects.filter(cluster=cluster, account__in=allowed)


def streams_for(user, cluster, *, account: str = "", name: str = "", subject: str = "",
                sort: str = "account", descending: bool = False) -> tuple[list[dict], object]:
    """Summary rows (consumers counted, not detailed) and when they were polled (None: never)."""
    rows, polled_at = [], None
    name, subject = name.lower(), subject.lower()
    for entry in _account_streams(user, cluster, account).defer("detail_lines"):
        polled_at = max(polled_at, entry.polled_at) if polled_at else entry.polled_at
        rows += [s for s in entry.summary
                 if (not name or name in s["name"].lower())
                 and (not subject or any(subject in x.lower() for x in s.get("subjects") or []))]
    rows.sort(key=SORT_KEYS.get(sort, SORT_KEYS["account"]), reverse=descending)
    return rows, polled_at


def streams_json_for(user, cluster, *, account: str = "", name: str = "", subject: str = "",
                     sort: str = "account") -> tuple[list[str], object]:
    """Full rows, consumers included, as JSON text in the list's order, parsing only summaries."""
    if not name and not subject and sort == "account":
        # Stored in (account, name) order already: nothing to parse at all.
        texts, polled_at = [], None
        for entry in _account_streams(user, cluster, account).order_by("account"):
            polled_at = max(polled_at, entry.polled_at) if polled_at else entry.polled_at
            texts += entry.detail_json_rows()
        return texts, polled_at
    rows, polled_at = streams_for(user, cluster, account=account, name=name, subject=subject, sort=sort)
    wanted: dict[str, set[str]] = {}
    for row in rows:
        wanted.setdefault(row["account"], set()).add(row["name"])
    texts = {}
    for entry in _account_streams(user, cluster, account).filter(account__in=list(wanted)):
        for line in entry.detail_lines.splitlines():
            key, _, text = line.partition("\t")
            texts[(entry.account, key)] = text
    return [texts[(row["account"], json.dumps(row["name"]))] for row in rows], polled_at


def stream_for(user, cluster, account_name: str, stream_name: str) -> dict:
    if account_name not in visible_account_names(user, cluster):
        raise Http404("No such account")
    entry = AccountStreams.objects.filter(cluster=cluster, account=account_name).first()
    found = entry.detail(stream_name) if entry else None
    if found is None:
        raise Http404("No such stream")
    return found


def consumer_backlogs(cluster, stream: dict) -> dict[str, backlog.Backlog]:
    now = timezone.now()
    since = now - timedelta(minutes=max(settings.CONSUMER_STALLED_MINUTES * 2, 10))
    rows = (ConsumerSample.objects.filter(cluster=cluster, account=stream["account"], stream=stream["name"],
                                          at__gte=since)
            .order_by("at").values_list("consumer", "at", "num_pending", "ack_floor_stream_seq"))
    series: dict[str, list] = {}
    for consumer, at, pending, floor in rows:
        series.setdefault(consumer, []).append((at, pending, floor))
    stalled_after = timedelta(minutes=settings.CONSUMER_STALLED_MINUTES)
    return {c["name"]: backlog.judge(series.get(c["name"], []), now=now, stalled_after=stalled_after)
            for c in stream["consumers"]}


def stream_series(cluster, stream: dict, window: str) -> dict:
    since = timezone.now() - cluster_selectors.WINDOWS[window]
    messages = list(StreamSample.objects.filter(cluster=cluster, account=stream["account"], stream=stream["name"],
                                                at__gte=since).order_by("at").values_list("at", "messages"))
    consumers = {}
    for consumer, at, pending, ack_pending, redelivered in (
            ConsumerSample.objects.filter(cluster=cluster, account=stream["account"], stream=stream["name"],
                                          at__gte=since).order_by("at")
            .values_list("consumer", "at", "num_pending", "num_ack_pending", "num_redelivered")):
        entry = consumers.setdefault(consumer, {"at": [], "num_pending": [], "num_ack_pending": [],
                                                "num_redelivered": []})
        entry["at"].append(at.timestamp())
        entry["num_pending"].append(pending)
        entry["num_ack_pending"].append(ack_pending)
        entry["num_redelivered"].append(redelivered)
    return {"messages": {"at": [at.timestamp() for at, _ in messages], "messages": [m for _, m in messages]},
            "consumers": consumers}


def audit_entries_for(user):
    entries = AuditEntry.objects.all()
    if user.is_superuser:
        return entries
    pairs = cluster_selectors.visible_accounts(user).values_list("cluster__name", "name")
    condition = Q(pk__in=[])
    for cluster_name, account_name in pairs:
        condition |= Q(cluster=cluster_name, account=account_name)
    return entries.filter(condition)
