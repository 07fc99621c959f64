"""Reads of alerts and check results, scoped to what a user may see: cluster-wide alerts (account "")
to everyone who may see the cluster, account alerts only to who may see that account."""

from __future__ import annotations

from django.db.models import Q

from alerts.models import Alert, AlertState, ClusterHealth, Threshold
from clusters import selectors as cluster_selectors


def _scope(user) -> Q | None:
    """A filter on (cluster, account) for a non-superuser; None for a superuser (everything)."""
    if user.is_superuser:
        return None
    condition = Q(pk__in=[])
    pairs = list(cluster_selectors.visible_accounts(user).values_list("cluster_id", "name"))
    for cluster_id in {cluster_id for cluster_id, _ in pairs}:
        condition |= Q(cluster_id=cluster_id, account="")
    for cluster_id, name in pairs:
        condition |= Q(cluster_id=cluster_id, account=name)
    return condition


def visible_alerts(user):
    if not user.is_authenticated:
        return Alert.objects.none()
    scope = _scope(user)
    alerts = Alert.objects.select_related("cluster")
    return alerts if scope is None else alerts.filter(scope)


def firing_count(user) -> int:
    return visible_alerts(user).filter(state=AlertState.FIRING).count()


def alerts_overview(user, *, cluster=None, recent: int = 50) -> dict:
    alerts = visible_alerts(user)
    if cluster is not None:
        alerts = alerts.filter(cluster=cluster)
    return {
        "firing": list(alerts.filter(state=AlertState.FIRING).order_by("-fired_at", "-id")),
        "pending": list(alerts.filter(state=AlertState.PENDING).order_by("-started_at", "-id")),
        "recent": list(alerts.filter(state=AlertState.RESOLVED).order_by("-resolved_at", "-id")[:recent]),
    }


def visible_account_names(user, cluster) -> set[str]:
    return set(cluster_selectors.visible_accounts(user).filter(cluster=cluster).values_list("name", flat=True))


def check_results(user, cluster) -> tuple[list[dict], object]:
    """The latest check results of a cluster the user may see (call cluster_for first), worst
    first, and when they were evaluated (None: not yet)."""
    health = ClusterHealth.objects.filter(cluster=cluster).first()
    if health is None:
        return [], None
    allowed = None if user.is_superuser else visible_account_names(user, cluster)
    rows = [r for r in health.results if allowed is None or not r["account"] or r["account"] in allowed]
    for account, counts in (health.ok_counts or {}).items():
        if allowed is not None and account not in allowed:
            continue
        for check, count in counts.items():
            things = "consumers" if check.startswith("consumer.") else "streams"
            rows.append({"check": check, "target": "*", "account": account, "state": "ok", "value": None,
                         "threshold": None, "message": f"{count:,} {things} fine", "figures": {"count": count},
                         "key": f"{check}|{account}/*", "lower_is_worse": False})
    order = {"critical": 0, "warning": 1, "ok": 2}
    rows.sort(key=lambda r: (order.get(r["state"], 3), r["check"], r["account"], r["target"]))
    return rows, health.evaluated_at


def thresholds_for(user, cluster) -> list[Threshold]:
    rows = Threshold.objects.filter(cluster=cluster)
    if user.is_superuser:
        return list(rows)
    return list(rows.filter(Q(account="") | Q(account__in=visible_account_names(user, cluster))))
