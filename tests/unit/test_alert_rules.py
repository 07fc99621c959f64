"""The alert state machine over time sequences: pending, firing, resolved, dropped, no flapping."""

from datetime import UTC, datetime, timedelta

import pytest

from alerts import rules
from alerts.rules import FIRING, PENDING, RESOLVED, Observation, Rule

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
FAIL_W = Observation(failing=True, severity="warning", value=12_000, threshold=10_000, message="pending 12,000")
FAIL_C = Observation(failing=True, severity="critical", value=60_000, threshold=50_000, message="pending 60,000")
FINE = Observation(failing=False, value=3)


def play(sequence, rule=Rule(for_seconds=300, resolve_seconds=60)):
    """sequence: (seconds after T0, observation); returns (state or None, what happened) per step."""
    alert, trace = None, []
    for seconds, seen in sequence:
        alert, happened = rules.step(alert, seen, T0 + timedelta(seconds=seconds), rule)
        trace.append((alert.state if alert else None, happened))
        if alert is not None and alert.state == RESOLVED:
            alert = None  # a resolved alert is history; the next failure opens a new one
    return trace, alert


@pytest.mark.parametrize(("sequence", "expected"), [
    # "pending above 10,000 for 5 minutes": fires at 300 s, not before
    ([(0, FAIL_W), (120, FAIL_W), (299, FAIL_W), (300, FAIL_W)],
     [(PENDING, "opened"), (PENDING, "updated"), (PENDING, "updated"), (FIRING, "fired")]),
    # recovers before the period: dropped, never fired
    ([(0, FAIL_W), (200, FINE), (250, FINE)], [(PENDING, "opened"), (None, "dropped"), (None, "none")]),
    # fine from the start: nothing at all
    ([(0, FINE), (10, FINE)], [(None, "none"), (None, "none")]),
    # firing, then fine for the resolve period: resolved
    ([(0, FAIL_W), (300, FAIL_W), (310, FINE), (369, FINE), (370, FINE)],
     [(PENDING, "opened"), (FIRING, "fired"), (FIRING, "updated"), (FIRING, "updated"), (RESOLVED, "resolved")]),
    # flapping while firing: a failure restarts the resolve count, so one alert stays firing
    ([(0, FAIL_W), (300, FAIL_W), (310, FINE), (350, FAIL_W), (360, FINE), (400, FINE), (420, FINE)],
     [(PENDING, "opened"), (FIRING, "fired"), (FIRING, "updated"), (FIRING, "updated"), (FIRING, "updated"),
      (FIRING, "updated"), (RESOLVED, "resolved")]),
])
def test_sequences(sequence, expected):
    trace, _ = play(sequence)
    assert trace == expected


def test_zero_for_period_fires_at_once():
    trace, _ = play([(0, FAIL_C)], Rule(for_seconds=0, resolve_seconds=0))
    assert trace == [(FIRING, "fired")]


def test_worst_severity_and_peak_are_kept_while_open():
    alert, _ = rules.step(None, FAIL_W, T0, Rule(300, 60))
    alert, _ = rules.step(alert, FAIL_C, T0 + timedelta(seconds=100), Rule(300, 60))
    alert, _ = rules.step(alert, FAIL_W, T0 + timedelta(seconds=300), Rule(300, 60))
    assert (alert.state, alert.severity, alert.value, alert.peak) == (FIRING, "critical", 12_000, 60_000)
    assert alert.started_at == T0 and alert.fired_at == T0 + timedelta(seconds=300)
    alert, _ = rules.step(alert, FINE, T0 + timedelta(seconds=400), Rule(300, 60))
    alert, happened = rules.step(alert, FINE, T0 + timedelta(seconds=460), Rule(300, 60))
    assert happened == rules.RESOLVED_NOW
    assert (alert.resolved_at, alert.ok_since, alert.peak) == (T0 + timedelta(seconds=460), T0 + timedelta(seconds=400),
                                                               60_000)


def test_peak_of_a_lower_is_worse_check_is_its_lowest_value():
    low = Observation(failing=True, severity="warning", value=30, lower_is_worse=True)
    lower = Observation(failing=True, severity="warning", value=10, lower_is_worse=True)
    alert, _ = rules.step(None, low, T0, Rule(0, 60))
    alert, _ = rules.step(alert, lower, T0 + timedelta(seconds=5), Rule(0, 60))
    assert alert.peak == 10


@pytest.mark.parametrize(("check", "per_check", "expected"), [
    ("consumer.num_pending", {}, 300),
    ("node.unreachable", {"node.unreachable": 30}, 30),
    ("node.cpu", {"node": 120}, 120),
    ("node.unreachable", {"node": 120, "node.unreachable": 30}, 30),
])
def test_rule_for_a_check(check, per_check, expected):
    assert rules.rule_for(check, for_seconds=300, resolve_seconds=60, per_check=per_check).for_seconds == expected
