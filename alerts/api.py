"""JSON API of alerts and checks, scoped like the pages."""

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from alerts import selectors
from clusters import selectors as cluster_selectors
from clusters.api import api_view


@api_view
@require_GET
def alerts(request):
    overview = selectors.alerts_overview(request.user, recent=100)
    return JsonResponse({
        "firing_count": len(overview["firing"]),
        **{name: [alert.as_dict() for alert in rows] for name, rows in overview.items()},
    })


@api_view
@require_GET
def cluster_checks(request, name):
    cluster = cluster_selectors.cluster_for(request.user, name)
    results, evaluated_at = selectors.check_results(request.user, cluster)
    return JsonResponse({
        "cluster": cluster.name,
        "evaluated_at": evaluated_at.isoformat() if evaluated_at else None,
        "summary": {state: sum(1 for r in results if r["state"] == state) for state in ("ok", "warning", "critical")},
        "checks": results,
    })
