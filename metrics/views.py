"""/metrics in the Prometheus text format (0.0.4, which every Prometheus reads): bearer token (the API's) or a session; 401 otherwise."""

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from clusters.auth import bearer_token, user_for_token
from metrics.collector import FleetCollector


@login_not_required
@csrf_exempt
@require_GET
def metrics(request):
    token = bearer_token(request.headers.get("Authorization", ""))
    user = user_for_token(token) if token else (request.user if request.user.is_authenticated else None)
    if user is None:
        response = HttpResponse("authentication required: Authorization: Bearer <token>\n" if not token
                                else "invalid API token\n", status=401, content_type="text/plain; charset=utf-8")
        response["WWW-Authenticate"] = 'Bearer realm="natsdash"'
        return response
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FleetCollector(user, consumer_labels=settings.METRICS_CONSUMER_LABELS,
                                     max_series=settings.METRICS_MAX_SERIES))
    response = HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_PLAIN_0_0_4)
    response["Cache-Control"] = "no-store"
    return response
