"""The alert state machine: when a failing check becomes a firing alert and when it resolves. Pure.

- A check that fails opens a pending alert (started_at = now).
- A pending alert fires once the check has failed continuously for the rule's `for` period.
- A pending alert whose check is fine again is dropped: it never fired, so nobody hears of it.
- A firing alert resolves once its check has been fine continuously for the resolve period; a
  failure in between restarts that count, so a flapping check keeps one alert firing instead of
  sending a storm of fired/resolved pairs.
- While open, the alert keeps the worst severity reached and the peak value.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

PENDING, FIRING, RESOLVED = "pending", "firing", "resolved"
_SEVERITY_RANK = {"warning": 1, "critical": 2}


@dataclass(frozen=True)
class Rule:
    for_seconds: float
    resolve_seconds: float


@dataclass(frozen=True)
class AlertView:
    """The fields of an open alert that the state machine reads and writes."""

    state: str
    severity: str
    value: float | None
    peak: float | None
    threshold: float | None
    message: str
    started_at: datetime
    last_failing_at: datetime
    fired_at: datetime | None = None
    ok_since: datetime | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True)
class Observation:
    """One evaluation of a check: failing with a severity and value, or fine."""

    failing: bool
    severity: str = ""  # "warning" or "critical" when failing
    value: float | None = None
    threshold: float | None = None
    message: str = ""
    lower_is_worse: bool = False


# What step() did: nothing new, opened a pending alert, fired, resolved, dropped a pending one, or
# updated an open alert's figures.
NONE, OPENED, FIRED, RESOLVED_NOW, DROPPED, UPDATED = "none", "opened", "fired", "resolved", "dropped", "updated"


def _peak(previous: float | None, value: float | None, lower_is_worse: bool) -> float | None:
    if value is None:
        return previous
    if previous is None:
        return value
    return min(previous, value) if lower_is_worse else max(previous, value)


def _worse(a: str, b: str) -> str:
    return a if _SEVERITY_RANK.get(a, 0) >= _SEVERITY_RANK.get(b, 0) else b


def step(alert: AlertView | None, seen: Observation, now: datetime, rule: Rule) -> tuple[AlertView | None, str]:
    """The open alert after one observation, and what happened. A resolved alert is returned with
    state "resolved" (kept as history); a dropped pending alert as None."""
    if alert is None:
        if not seen.failing:
            return None, NONE
        opened = AlertView(state=PENDING, severity=seen.severity, value=seen.value, peak=seen.value,
                           threshold=seen.threshold, message=seen.message, started_at=now, last_failing_at=now)
        if rule.for_seconds <= 0:
            return replace(opened, state=FIRING, fired_at=now), FIRED
        return opened, OPENED

    if seen.failing:
        updated = replace(alert, severity=_worse(alert.severity, seen.severity), value=seen.value,
                          peak=_peak(alert.peak, seen.value, seen.lower_is_worse), threshold=seen.threshold,
                          message=seen.message, last_failing_at=now, ok_since=None)
        if alert.state == PENDING and (now - alert.started_at).total_seconds() >= rule.for_seconds:
            return replace(updated, state=FIRING, fired_at=now), FIRED
        return updated, UPDATED

    if alert.state == PENDING:
        return None, DROPPED
    ok_since = alert.ok_since or now
    recovered = replace(alert, value=seen.value, ok_since=ok_since)
    if (now - ok_since).total_seconds() >= rule.resolve_seconds:
        return replace(recovered, state=RESOLVED, resolved_at=now), RESOLVED_NOW
    return recovered, UPDATED


def rule_for(check: str, *, for_seconds: float, resolve_seconds: float, per_check: dict[str, float]) -> Rule:
    """A check's rule: its own `for` period when configured (exact name, or a family such as
    "node" for every node.* check), else the default."""
    family = check.split(".", 1)[0]
    return Rule(for_seconds=per_check.get(check, per_check.get(family, for_seconds)), resolve_seconds=resolve_seconds)
