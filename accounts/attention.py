"""What needs attention in an account, and its JetStream usage against its limits. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from streams import backlog

USAGE_KINDS = ("memory", "storage", "streams", "consumers")


def _level(value) -> float | None:
    return value or None  # 0 in settings turns a check off (alerts.services does the same)


def _reaches(value, threshold: float | None) -> bool:
    """As the health checks judge: a value at or above its threshold fails; no threshold, no check."""
    return threshold is not None and value is not None and value >= threshold


@dataclass(frozen=True)
class Thresholds:
    """Warning levels; None turns a rule off."""

    pending: float | None
    ack_pending: float | None
    stalled_seconds: int
    usage_percent: float | None

    @classmethod
    def from_settings(cls, settings) -> "Thresholds":
        """The health checks' warning levels: what needs attention is what a check warns about."""
        return cls(pending=_level(settings.ALERT_CONSUMER_PENDING_WARNING),
                   ack_pending=_level(settings.ALERT_CONSUMER_ACK_PENDING_WARNING),
                   stalled_seconds=settings.CONSUMER_STALLED_MINUTES * 60,
                   usage_percent=_level(settings.ALERT_ACCOUNT_JETSTREAM_WARNING))


@dataclass(frozen=True)
class Attention:
    kind: str  # "pending", "ack_pending", "stalled", "storage", "memory", "slow_consumers"
    severity: str  # "warning" or "critical"
    message: str
    stream: str = ""
    consumer: str = ""

    def as_dict(self) -> dict:
        return {"kind": self.kind, "severity": self.severity, "message": self.message,
                "stream": self.stream, "consumer": self.consumer}


def _usage_rows(figures: dict, *, tier: str = "", tiered: bool = False) -> list[dict]:
    limits = figures.get("limits") or {}
    rows = []
    for kind in USAGE_KINDS:
        used = figures.get(kind)
        limit = limits.get(f"max_{kind}")
        limit = limit if isinstance(limit, int) and limit >= 0 else None
        if tiered and limit == 0:
            limit = None  # the account-wide zeros of tiered limits: the limits are the tiers'
        percent = None
        if limit is not None and isinstance(used, int):
            percent = round(100.0 * used / limit, 1) if limit > 0 else (100.0 if used else 0.0)
        rows.append({"kind": kind, "tier": tier, "used": used, "limit": limit, "percent": percent,
                     "bar": min(percent, 100.0) if percent is not None else 0.0,
                     "bytes": kind in ("memory", "storage")})
    return rows


def usage(jetstream: dict | None) -> list[dict]:
    """One row per kind: used, limit (None: unlimited, the API's -1) and percent of the limit
    (None when unlimited). Empty when the account's JetStream usage is not known.

    With tiered limits (the account-wide limits all 0, the real ones under "tiers"): the rows of
    the one tier when there is one, else one row per kind and tier (each with its "tier")."""
    if not jetstream:
        return []
    tiers = jetstream.get("tiers") if isinstance(jetstream.get("tiers"), dict) else {}
    tiers = {name: tier for name, tier in tiers.items() if isinstance(tier, dict)}
    if len(tiers) == 1:
        (name, tier), = tiers.items()
        return _usage_rows(tier, tier=name, tiered=True)
    if tiers:
        return [row for name in sorted(tiers) for row in _usage_rows(tiers[name], tier=name, tiered=True)]
    return _usage_rows(jetstream)


def attention(*, figures: dict | None, jetstream: dict | None, streams: list[dict],
              consumer_samples: dict[tuple[str, str], list[tuple[datetime, int | None, int | None]]],
              now: datetime, thresholds: Thresholds) -> list[Attention]:
    """Attention items, most severe first.

    - a consumer with num_pending or num_ack_pending at or above the thresholds (latest poll);
    - a stalled consumer: messages pending and its ack floor unchanged across the samples of
      the last `stalled_seconds` (samples: (at, num_pending, ack_floor_stream_seq), oldest first);
    - JetStream storage or memory at `usage_percent` of the account's limit or above;
    - slow consumers among the account's connections: the servers' counters grew since the
      previous poll (figures' slow_consumers_added).
    A threshold of None (0 in settings) turns its rule off, as it does the health check."""
    items: list[Attention] = []
    stalled_after = timedelta(seconds=thresholds.stalled_seconds)
    for stream in streams:
        for consumer in stream.get("consumers") or []:
            name, where = consumer.get("name", ""), f"{stream.get('name', '')} › {consumer.get('name', '')}"
            pending, ack_pending = consumer.get("num_pending") or 0, consumer.get("num_ack_pending") or 0
            samples = consumer_samples.get((stream.get("name", ""), name), [])
            judged = backlog.judge(samples, now=now, stalled_after=stalled_after)
            if judged.stalled:
                items.append(Attention("stalled", "critical",
                                       f"{where} is stalled: {pending} pending, ack floor still since "
                                       f"{judged.stalled_since:%H:%M:%S}", stream["name"], name))
            if _reaches(pending, thresholds.pending):
                items.append(Attention("pending", "warning", f"{where} has {pending} pending messages",
                                       stream["name"], name))
            if _reaches(ack_pending, thresholds.ack_pending):
                items.append(Attention("ack_pending", "warning",
                                       f"{where} has {ack_pending} messages awaiting acknowledgement",
                                       stream["name"], name))
    for row in usage(jetstream):
        if row["kind"] in ("storage", "memory") and _reaches(row["percent"], thresholds.usage_percent):
            where = f" ({row['tier']})" if row["tier"] else ""
            items.append(Attention(row["kind"], "critical" if row["percent"] >= 100 else "warning",
                                   f"JetStream {row['kind']}{where} at {row['percent']:g}% of the account's limit"))
    # The servers count slow consumers since they started: only new ones since the last poll.
    added = (figures or {}).get("slow_consumers_added") or 0
    if added > 0:
        items.append(Attention("slow_consumers", "warning",
                               f"{added} new slow consumer{'s' if added != 1 else ''} among the account's "
                               f"clients since the last poll"))
    items.sort(key=lambda item: item.severity != "critical")
    return items


def load(figures: dict | None) -> float:
    """How busy an account is, for sorting: messages per second in and out."""
    figures = figures or {}
    return (figures.get("msgs_in_per_s") or 0.0) + (figures.get("msgs_out_per_s") or 0.0)
