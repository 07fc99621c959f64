"""Tasks round-trip through the real Redis broker and a real worker process."""

import pytest

from core import stack, tasks


def test_task_round_trips_through_redis_and_a_worker(celery_worker):
    result = tasks.echo.delay({"hello": ["nats", 1]})
    assert result.get(timeout=30) == {"hello": ["nats", 1]}


@pytest.mark.django_db(transaction=True)
def test_heartbeat_task_records_when_the_worker_ran_it(celery_worker):
    before = stack.last_heartbeat()
    recorded = tasks.heartbeat.apply_async(ignore_result=False).get(timeout=30)
    seen = stack.last_heartbeat()
    assert seen is not None and seen.isoformat() == recorded
    assert before is None or seen > before
    assert stack.heartbeat_is_fresh(seen)
