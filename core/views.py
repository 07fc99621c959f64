from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core import stack


@require_GET
def home(request):
    seen = stack.last_heartbeat()
    return render(
        request,
        "core/home.html",
        {
            "database": stack.check_database(),
            "redis": stack.check_redis(),
            "heartbeat_at": seen,
            "heartbeat_fresh": stack.heartbeat_is_fresh(seen),
        },
    )


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
