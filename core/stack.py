"""Reachability of the parts natsdash runs on: the database, Redis, the scheduler.

Used by /healthz (load balancers, `make demo`) and by the home page.
"""

from dataclasses import dataclass
from datetime import datetime, timezone

import redis
from django.conf import settings
from django.db import connection
from django.db.utils import Error as DatabaseError

HEARTBEAT_KEY = "natsdash:heartbeat"


@dataclass(frozen=True)
class Reachability:
    ok: bool
    error: str = ""

    def as_dict(self) -> dict:
        return {"ok": self.ok, "error": self.error} if self.error else {"ok": self.ok}


def redis_client(timeout: float = 1.0) -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=timeout, socket_connect_timeout=timeout
    )


def check_database() -> Reachability:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return Reachability(ok=False, error=f"{type(exc).__name__}: {exc}")
    return Reachability(ok=True)


def check_redis() -> Reachability:
    try:
        redis_client().ping()
    except redis.RedisError as exc:
        # The message names host and port only; REDIS_URL passwords never reach it.
        return Reachability(ok=False, error=f"{type(exc).__name__}: {exc}")
    return Reachability(ok=True)


def record_heartbeat(at: datetime) -> None:
    redis_client().set(HEARTBEAT_KEY, at.isoformat(), ex=settings.HEARTBEAT_INTERVAL * 20)


def last_heartbeat() -> datetime | None:
    """When the scheduler last ran a task through a worker, or None (never, or Redis is down)."""
    try:
        value = redis_client().get(HEARTBEAT_KEY)
    except redis.RedisError:
        return None
    if value is None:
        return None
    return datetime.fromisoformat(value.decode())


def heartbeat_is_fresh(seen: datetime | None, now: datetime | None = None) -> bool:
    if seen is None:
        return False
    now = now or datetime.now(timezone.utc)
    return (now - seen).total_seconds() <= settings.HEARTBEAT_INTERVAL * 3
