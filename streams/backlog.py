"""Consumer backlog judgements from sampled figures. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Backlog:
    drain_per_s: float | None  # messages per second the backlog shrinks (negative: it grows)
    eta_seconds: float | None  # time to drain at that rate, when draining
    stalled: bool
    stalled_since: datetime | None


def judge(samples: list[tuple[datetime, int | None, int | None]], *, now: datetime,
          stalled_after: timedelta, window: timedelta = timedelta(minutes=5)) -> Backlog:
    """samples: (at, num_pending, ack_floor_stream_seq), oldest first."""
    samples = [s for s in samples if s[1] is not None]
    if not samples:
        return Backlog(None, None, False, None)
    at, pending, floor = samples[-1]
    recent = [s for s in samples if s[0] >= at - window]
    drain = None
    if len(recent) >= 2 and recent[-1][0] > recent[0][0]:
        seconds = (recent[-1][0] - recent[0][0]).total_seconds()
        drain = round((recent[0][1] - recent[-1][1]) / seconds, 3)
    eta = round(pending / drain, 1) if drain and drain > 0 and pending else (0.0 if pending == 0 else None)
    since = None
    for sample_at, _, sample_floor in reversed(samples):
        if sample_floor != floor:
            break
        since = sample_at
    stalled = bool(pending) and since is not None and now - since >= stalled_after
    return Backlog(drain_per_s=drain, eta_seconds=eta, stalled=stalled, stalled_since=since if stalled else None)
