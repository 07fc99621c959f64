from datetime import datetime, timezone

from celery import shared_task

from core import stack
from core.live import FLEET_GROUP, push_after_commit


@shared_task
def heartbeat() -> str:
    """Scheduled by beat: proves beat, broker, worker and Redis work together."""
    now = datetime.now(timezone.utc)
    stack.record_heartbeat(now)
    push_after_commit(FLEET_GROUP, "heartbeat", {"at": now.isoformat()})
    return now.isoformat()


@shared_task(ignore_result=False)
def echo(value):
    """Returns its argument; lets operators and tests check a worker answers."""
    return value
