"""JSON API: session or bearer-token auth, scoped like the pages; errors are {"error": ...}."""

from functools import wraps

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from clusters import live, selectors
from clusters.auth import bearer_token, user_for_token


def api_view(view):
    """Authenticates by bearer token or session; answers JSON errors (401, 404) instead of pages."""

    @login_not_required
    @csrf_exempt
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        token = bearer_token(request.headers.get("Authorization", ""))
        if token:
            user = user_for_token(token)
            if user is None:
                return JsonResponse({"error": "invalid API token"}, status=401)
            request.user = user
        elif not request.user.is_authenticated:
            return JsonResponse({"error": "authentication required: session or Authorization: Bearer <token>"},
                                status=401)
        try:
            return view(request, *args, **kwargs)
        except Http404 as missing:
            return JsonResponse({"error": str(missing) or "not found"}, status=404)
        except PermissionDenied as denied:
            return JsonResponse({"error": str(denied) or "permission denied"}, status=403)

    return wrapper


def node_dict(node) -> dict:
    return {
        **live.node_brief(node),
        "server_id": node.server_id,
        "started_at": node.started_at.isoformat() if node.started_at else None,
        "last_seen_at": node.last_seen_at.isoformat() if node.last_seen_at else None,
        "figures": node.figures,
    }


@api_view
@require_GET
def clusters(request):
    return JsonResponse({"clusters": [live.cluster_brief(c) for c in selectors.visible_clusters(request.user)]})


@api_view
@require_GET
def cluster(request, name):
    cluster = selectors.cluster_for(request.user, name)
    return JsonResponse({
        **live.cluster_brief(cluster),
        "nats_cluster_name": cluster.nats_cluster_name,
        "poll_interval": cluster.effective_poll_interval,
        "last_poll_ms": cluster.last_poll_ms,
        "nodes": [node_dict(node) for node in cluster.nodes.all()],
        "unmonitored_peers": selectors.unmonitored_peers(cluster),
        "events": [{"at": e.at.isoformat(), "kind": e.kind, "severity": e.severity, "message": e.message,
                    "node": e.node.display_name if e.node else None}
                   for e in selectors.recent_events(cluster)],
    })


@api_view
@require_GET
def topology(request, name):
    cluster = selectors.cluster_for(request.user, name)
    graph = cluster.topology or {"nodes": [], "edges": [], "findings": []}
    return JsonResponse({**graph, "cluster": cluster.name, "status": cluster.status})


@api_view
@require_GET
def node_series(request, name, node):
    node = selectors.node_for(request.user, name, node)
    window = request.GET.get("window", "1h")
    if window not in selectors.WINDOWS:
        return JsonResponse({"error": f"window must be one of {', '.join(selectors.WINDOWS)}"}, status=400)
    return JsonResponse({"node": node.display_name, "window": window, "series": selectors.node_series(node, window)})
