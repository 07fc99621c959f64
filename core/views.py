from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core import stack


@login_not_required
@never_cache
@require_GET
def healthz(request):
    database = stack.check_database()
    redis = stack.check_redis()
    seen = stack.last_heartbeat()
    body = {
        "status": "ok" if database.ok and redis.ok else ("degraded" if database.ok else "down"),
        "database": database.as_dict(),
        "redis": redis.as_dict(),
        "scheduler": {
            "last_heartbeat": seen.isoformat() if seen else None,
            "fresh": stack.heartbeat_is_fresh(seen),
        },
    }
    return JsonResponse(body, status=200 if database.ok else 503)
