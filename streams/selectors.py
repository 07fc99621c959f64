"""Reads of JetStream state from the latest poll, scoped to the accounts a user may see."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.http import Http404
from django.utils import timezone

from clusters import selectors as cluster_selectors
from clusters.models import ConsumerSample, JetStreamSnapshot, StreamSample
from streams import backlog
from streams.models import AuditEntry

SORT_KEYS = {
    "account": lambda s: (s["account"], s["name"]),
    "name": lambda s: (s["name"], s["account"]),
    "messages": lambda s: s["messages"],
    "bytes": lambda s: s["bytes"],
    "consumers": lambda s: len(s["consumers"]),
    "last": lambda s: s.get("last_ts") or "",
}


def snapshot(cluster) -> JetStreamSnapshot | None:
    return JetStreamSnapshot.objects.filter(cluster=cluster).first()


def visible_account_names(user, cluster) -> set[str]:
    return set(cluster_selectors.visible_accounts(user).filter(cluster=cluster).values_list("name", flat=True))


def streams_for(user, cluster, *, account: str = "", name: str = "", subject: str = "",
                sort: str = "account", descending: bool = False) -> tuple[list[dict], JetStreamSnapshot | None]:
    latest = snapshot(cluster)
    if latest is None:
        return [], None
    allowed = visible_account_names(user, cluster)
    name, subject = name.lower(), subject.lower()
    rows = [s for s in latest.streams if s["account"] in allowed
            and (not account or s["account"] == account)
            and (not name or name in s["name"].lower())
            and (not subject or any(subject in x.lower() for x in s.get("subjects") or []))]
    rows.sort(key=SORT_KEYS.get(sort, SORT_KEYS["account"]), reverse=descending)
    return rows, latest


def stream_for(user, cluster, account_name: str, stream_name: str) -> dict:
    if account_name not in visible_account_names(user, cluster):
        raise Http404("No such account")
    latest = snapshot(cluster)
    for stream in latest.streams if latest else []:
        if stream["account"] == account_name and stream["name"] == stream_name:
            return stream
    raise Http404("No such stream")


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
    from django.db.models import Q

    condition = Q(pk__in=[])
    for cluster_name, account_name in pairs:
        condition |= Q(cluster=cluster_name, account=account_name)
    return entries.filter(condition)
