"""Pages: a cluster's health (every check, `nats server check` style, with alerts and thresholds),
the fleet's alerts, and the POST that sets or removes a threshold."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from alerts import checks, selectors, services
from clusters import selectors as cluster_selectors
from clusters.models import Role
from streams import access


def _operated_accounts(user, cluster) -> list[str]:
    """Accounts of the cluster whose thresholds the user may set."""
    accounts = cluster_selectors.visible_accounts(user).filter(cluster=cluster).order_by("name")
    if user.is_superuser:
        return [a.name for a in accounts]
    return [a.name for a in accounts if cluster_selectors.role_on(user, a) == Role.OPERATOR]


@require_GET
def cluster_health(request, name):
    cluster = cluster_selectors.cluster_for(request.user, name)
    results, evaluated_at = selectors.check_results(request.user, cluster)
    counts = {state: sum(1 for r in results if r["state"] == state) for state in checks.STATES}
    operated = _operated_accounts(request.user, cluster)
    return render(request, "alerts/health.html", {
        "cluster": cluster, "results": results, "evaluated_at": evaluated_at, "counts": counts,
        "overall": checks.worst(r["state"] for r in results).upper(),
        "alerts": selectors.alerts_overview(request.user, cluster=cluster, recent=20),
        "thresholds": selectors.thresholds_for(request.user, cluster),
        "can_edit": request.user.is_superuser or bool(operated),
        "edit_accounts": operated, "cluster_wide_allowed": request.user.is_superuser,
        "threshold_checks": [(c, checks.CHECKS[c]) for c in checks.THRESHOLD_CHECKS],
    })


@require_GET
def alert_list(request):
    return render(request, "alerts/alerts.html", {"alerts": selectors.alerts_overview(request.user, recent=100)})


def _number(text: str, label: str) -> float | None:
    text = (text or "").strip().replace(",", "")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise services.ThresholdError(f"{label} must be a number, not {text!r}") from None


@require_POST
def thresholds(request, name):
    """Set (or with remove=1, remove) one threshold. Cluster-wide ones: superusers; an account's,
    stream's or consumer's: operators of that account. 404 unseen, 403 a viewer."""
    cluster = cluster_selectors.cluster_for(request.user, name)
    data = request.POST
    account, stream, consumer = (data.get(k, "").strip() for k in ("account", "stream", "consumer"))
    check = data.get("check", "").strip()
    if account:
        access.account_for(request.user, cluster.name, account, operate=True)
    elif not request.user.is_superuser:
        if not _operated_accounts(request.user, cluster):
            raise PermissionDenied("the operator role on an account of this cluster is needed for this")
        messages.error(request, "Threshold not changed: cluster-wide thresholds are set by superusers; "
                                "choose one of your accounts.")
        return redirect("cluster-health", name=cluster.name)
    try:
        if data.get("remove"):
            removed = services.remove_threshold(cluster=cluster, check=check, account=account, stream=stream,
                                                consumer=consumer)
            messages.success(request, f"Removed the {check} threshold." if removed else "No such threshold.")
        else:
            threshold = services.set_threshold(
                cluster=cluster, check=check, account=account, stream=stream, consumer=consumer,
                warning=_number(data.get("warning"), "warning"), critical=_number(data.get("critical"), "critical"))
            messages.success(request, f"Set {threshold.check_name} on {threshold.scope}; it applies from the next poll.")
    except services.ThresholdError as error:
        messages.error(request, f"Threshold not changed: {error}.")
    return redirect("cluster-health", name=cluster.name)
