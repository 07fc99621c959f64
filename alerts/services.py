"""Writes of the alerts app: evaluating a cluster's checks after a poll, and threshold overrides.
Keyword-only arguments; each function is one transaction."""

from __future__ import annotations

import json
import logging
import math
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from alerts import checks, rules
from alerts.models import OPEN_STATES, Alert, AlertState, ClusterHealth, Threshold
from alerts.signals import alert_fired, alert_resolved
from clusters.live import cluster_group
from clusters.models import AccountStreams, Cluster
from core.live import FLEET_GROUP, push_after_commit

log = logging.getLogger(__name__)


def _level(value: float) -> float | None:
    return value or None  # 0 in settings turns a level off


def default_thresholds() -> dict[str, tuple[float | None, float | None]]:
    """The thresholds from settings (see .env.example), by check."""
    s = settings
    pair = lambda warning, critical: (_level(warning), _level(critical))  # noqa: E731
    return {
        "node.restarted": (_level(s.ALERT_NODE_RESTART_SECONDS), None),
        "node.cpu": pair(s.ALERT_NODE_CPU_WARNING, s.ALERT_NODE_CPU_CRITICAL),
        "node.memory": pair(s.ALERT_NODE_MEMORY_WARNING_MIB, s.ALERT_NODE_MEMORY_CRITICAL_MIB),
        "node.connections": pair(s.ALERT_NODE_CONNECTIONS_WARNING, s.ALERT_NODE_CONNECTIONS_CRITICAL),
        "node.slow_consumers": pair(s.ALERT_SLOW_CONSUMERS_WARNING, s.ALERT_SLOW_CONSUMERS_CRITICAL),
        "mesh.partial": (None, 1),
        "mesh.route_pool": (1, None),
        "mesh.gateways": (None, 1),
        "mesh.leafnodes": (None, 1),
        "stream.limits": pair(s.ALERT_STREAM_LIMIT_WARNING, s.ALERT_STREAM_LIMIT_CRITICAL),
        "consumer.num_pending": pair(s.ALERT_CONSUMER_PENDING_WARNING, s.ALERT_CONSUMER_PENDING_CRITICAL),
        "consumer.num_ack_pending": pair(s.ALERT_CONSUMER_ACK_PENDING_WARNING, s.ALERT_CONSUMER_ACK_PENDING_CRITICAL),
        "consumer.num_redelivered": pair(s.ALERT_CONSUMER_REDELIVERED_WARNING,
                                         s.ALERT_CONSUMER_REDELIVERED_CRITICAL),
        "consumer.stalled": (s.CONSUMER_STALLED_MINUTES * 60.0, None),
        "account.memory": pair(s.ALERT_ACCOUNT_JETSTREAM_WARNING, s.ALERT_ACCOUNT_JETSTREAM_CRITICAL),
        "account.storage": pair(s.ALERT_ACCOUNT_JETSTREAM_WARNING, s.ALERT_ACCOUNT_JETSTREAM_CRITICAL),
    }


def thresholds_of(cluster: Cluster) -> checks.Thresholds:
    overrides = [checks.Override(check=t.check_name, warning=t.warning, critical=t.critical, account=t.account,
                                 stream=t.stream, consumer=t.consumer)
                 for t in Threshold.objects.filter(cluster=cluster)]
    return checks.Thresholds(default_thresholds(), overrides)


def polled_state(cluster: Cluster, now, *, nodes=None, streams=None, accounts=None) -> checks.PolledState:
    """The checks' view of the cluster's latest poll. A caller that holds the poll in memory
    (clusters.services.record_poll) passes its nodes, stream rows (clusters.state.stream_dict) and
    accounts; what it leaves out is read from the database."""
    if nodes is None:
        nodes = cluster.nodes.all()
    if streams is None:
        streams = []
        for entry in AccountStreams.objects.filter(cluster=cluster).order_by("account"):
            streams += [json.loads(text) for text in entry.detail_json_rows()]
    if accounts is None:
        accounts = cluster.accounts.only("name", "jetstream")
    # Account.jetstream (usage and limits) is optional: without it the account checks are skipped.
    return checks.PolledState(
        cluster=cluster.name, now=now, topology=cluster.topology or {}, streams=tuple(streams),
        nodes=tuple(checks.NodeView(name=n.display_name, status=n.status, error=n.error, figures=n.figures or {})
                    for n in nodes),
        accounts=tuple(checks.AccountView(name=a.name, jetstream=a.jetstream or None) for a in accounts))


def _view(alert: Alert) -> rules.AlertView:
    return rules.AlertView(state=alert.state, severity=alert.severity, value=alert.value, peak=alert.peak,
                           threshold=alert.threshold, message=alert.message, started_at=alert.started_at,
                           last_failing_at=alert.last_failing_at, fired_at=alert.fired_at, ok_since=alert.ok_since,
                           resolved_at=alert.resolved_at)


def _observation(result: checks.CheckResult | None) -> rules.Observation:
    if result is None:  # the check no longer applies (a consumer deleted, a node removed): fine
        return rules.Observation(failing=False)
    return rules.Observation(failing=result.failing, severity=result.state if result.failing else "",
                             value=result.value, threshold=result.threshold, message=result.message,
                             lower_is_worse=result.lower_is_worse)


def _announce(alert: Alert, signal) -> None:
    """After commit: the signal for receivers (notifications), and a nameless nudge to browsers,
    which re-read /api/alerts/ with their own visibility."""
    def send():
        for receiver, error in signal.send_robust(sender=Alert, alert=alert):
            if isinstance(error, Exception):
                log.error("alert receiver %r failed for %s: %s", receiver, alert.key, error)

    transaction.on_commit(send)
    nudge = {"cluster_id": alert.cluster_id, "state": alert.state, "severity": alert.severity}
    if not alert.account:  # cluster-wide alerts may be named to whoever sees the cluster
        nudge.update(key=alert.key, check=alert.check_name, target=alert.target)
    # Scoped: only sockets whose user may see the cluster (and, for an account's alert, the account)
    # hear of it (clusters.consumers).
    scope = {"cluster": alert.cluster.name, "account": alert.account}
    push_after_commit(cluster_group(alert.cluster_id), "alert", nudge, **scope)
    push_after_commit(FLEET_GROUP, "alert", {"state": alert.state}, **scope)


# What rules.step moves on an alert.
_STEPPED_FIELDS = ("state", "severity", "value", "peak", "threshold", "message", "started_at", "last_failing_at",
                   "fired_at", "ok_since", "resolved_at")


def evaluate_cluster(*, cluster_id: int, now=None) -> list[checks.CheckResult]:
    """Run every check over the cluster's latest poll as stored; see evaluate_poll."""
    now = now or timezone.now()
    cluster = Cluster.objects.get(pk=cluster_id)
    return evaluate_poll(cluster=cluster, polled=polled_state(cluster, now))


def evaluate_poll(*, cluster: Cluster, polled: checks.PolledState) -> list[checks.CheckResult]:
    """Run every check over one poll, store the results, and move the cluster's alerts: open,
    fire, resolve or drop them by their rules. Signals and pushes go after commit.

    Called after each poll under the cluster's poll lease, which keeps evaluations of one cluster
    apart: the moves are worked out first, and the transaction only writes them."""
    now = polled.now
    health = ClusterHealth.objects.filter(cluster=cluster).first()
    options = checks.Settings(slow_consumer_window=settings.ALERT_SLOW_CONSUMERS_WINDOW)
    results, memory = checks.evaluate(polled, thresholds_of(cluster), health.memory if health else {}, options)
    rows, ok_counts = checks.for_storage(results)

    by_key = {result.key: result for result in results}
    open_alerts = {a.key: a for a in Alert.objects.filter(cluster=cluster, state__in=OPEN_STATES)}
    moves: list[tuple[Alert, str]] = []
    for key in sorted(set(by_key) | set(open_alerts)):
        result, alert = by_key.get(key), open_alerts.get(key)
        if alert is None and (result is None or not result.failing):
            continue
        check = result.check if result else alert.check_name
        rule = rules.rule_for(check, for_seconds=settings.ALERT_FOR_SECONDS,
                              resolve_seconds=settings.ALERT_RESOLVE_SECONDS,
                              per_check=settings.ALERT_FOR_SECONDS_BY_CHECK)
        view, happened = rules.step(_view(alert) if alert else None, _observation(result), now, rule)
        if happened == rules.NONE:
            continue
        if alert is None:
            alert = Alert(cluster=cluster, account=result.account, check_name=result.check, target=result.target,
                          key=key)
        alert.cluster = cluster  # the one already read: no query per alert for its name
        if happened != rules.DROPPED:
            for name in _STEPPED_FIELDS:
                setattr(alert, name, getattr(view, name))
        moves.append((alert, happened))

    with transaction.atomic():
        if health is None:
            ClusterHealth.objects.create(cluster=cluster, evaluated_at=now, results=rows, ok_counts=ok_counts,
                                         memory=memory)
        else:
            health.evaluated_at, health.results, health.ok_counts, health.memory = now, rows, ok_counts, memory
            health.save(update_fields=["evaluated_at", "results", "ok_counts", "memory"])
        unchanged: list[Alert] = []  # open alerts whose figures moved but not their state
        for alert, happened in moves:
            if happened == rules.DROPPED:
                alert.delete()
            elif happened == rules.UPDATED and alert.pk is not None:
                unchanged.append(alert)
            else:
                alert.save()
                if happened == rules.FIRED:
                    _announce(alert, alert_fired)
                elif happened == rules.RESOLVED_NOW:
                    _announce(alert, alert_resolved)
        if unchanged:
            Alert.objects.bulk_update(unchanged, _STEPPED_FIELDS, batch_size=500)
    return results


def prune_history(*, now=None) -> int:
    """Drop alerts resolved more than ALERT_HISTORY_DAYS ago (run with the samples' retention)."""
    now = now or timezone.now()
    deleted, _ = Alert.objects.filter(state=AlertState.RESOLVED,
                                      resolved_at__lt=now - timedelta(days=settings.ALERT_HISTORY_DAYS)).delete()
    return deleted


# -- thresholds set in the UI ---------------------------------------------------------------


class ThresholdError(ValueError):
    """Bad input for a threshold; the message says what to fix."""


CLUSTER_WIDE_FAMILIES = ("node.", "mesh.")
NAME_MAX_LENGTH = Threshold._meta.get_field("stream").max_length  # account, stream and consumer alike


def set_threshold(*, cluster: Cluster, check: str, account: str = "", stream: str = "", consumer: str = "",
                  warning: float | None, critical: float | None) -> Threshold:
    """Create or replace the override of one check at one scope. Both levels empty: the check is
    off at that scope."""
    validate_threshold(check=check, account=account, stream=stream, consumer=consumer, warning=warning,
                       critical=critical)
    with transaction.atomic():
        threshold, _ = Threshold.objects.update_or_create(
            cluster=cluster, check_name=check, account=account, stream=stream, consumer=consumer,
            defaults={"warning": warning, "critical": critical})
    return threshold


def remove_threshold(*, cluster: Cluster, check: str, account: str = "", stream: str = "", consumer: str = "") -> int:
    deleted, _ = Threshold.objects.filter(cluster=cluster, check_name=check, account=account, stream=stream,
                                          consumer=consumer).delete()
    return deleted


def validate_threshold(*, check: str, account: str, stream: str, consumer: str, warning, critical) -> None:
    if check not in checks.THRESHOLD_CHECKS:
        raise ThresholdError(f"unknown check {check!r}: choose one of {', '.join(checks.THRESHOLD_CHECKS)}")
    if check.startswith(CLUSTER_WIDE_FAMILIES) and (account or stream or consumer):
        raise ThresholdError(f"{check} is a cluster-wide check: leave account, stream and consumer empty")
    if check.startswith("account.") and (stream or consumer):
        raise ThresholdError(f"{check} is an account check: leave stream and consumer empty")
    if check.startswith("stream.") and consumer:
        raise ThresholdError(f"{check} is a stream check: leave consumer empty")
    if stream and not account:
        raise ThresholdError("a stream needs its account")
    if consumer and not stream:
        raise ThresholdError("a consumer needs its stream")
    for name, value in (("account", account), ("stream", stream), ("consumer", consumer)):
        if len(value) > NAME_MAX_LENGTH:
            raise ThresholdError(f"{name} name is too long ({len(value)} characters; at most {NAME_MAX_LENGTH})")
    for name, value in (("warning", warning), ("critical", critical)):
        if value is not None and not math.isfinite(value):
            raise ThresholdError(f"{name} must be a finite number, not {value}")
        if value is not None and value < 0:
            raise ThresholdError(f"{name} must be 0 or more")
    if warning is None or critical is None or check in checks.ORDER_DECIDES_CHECKS:
        return
    if check in checks.LOWER_IS_WORSE_CHECKS and warning < critical:
        raise ThresholdError(f"the warning ({_shown(warning)}) must not be below the critical ({_shown(critical)}): "
                             f"lower is worse for {check}")
    if check not in checks.LOWER_IS_WORSE_CHECKS and warning > critical:
        raise ThresholdError(f"the warning ({_shown(warning)}) must not be above the critical ({_shown(critical)}): "
                             f"higher is worse for {check}")


def _shown(value: float) -> str:
    return f"{value:g}"
