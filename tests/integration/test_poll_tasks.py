"""Polls through Celery and Redis, without Redis, and the history they leave behind."""

import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from clusters import polling, retention, services, tasks
from clusters.models import Cluster, ConsumerSample, Node, NodeSample, Resolution, StreamSample
from devstack.ports import free_port, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_poll_all_fans_out_to_a_real_worker_over_redis(celery_worker, nats_cluster):
    cluster = services.register_cluster(name="lab", nats_urls=[], monitor_urls=nats_cluster.monitor_urls)
    assert tasks.poll_all.apply().get() == 1  # beat's tick, here run in the test; the poll runs in the worker

    def polled() -> bool:
        return Cluster.objects.get(pk=cluster.pk).last_polled_at is not None

    wait_until(polled, timeout=30, what="the worker's poll")
    assert Cluster.objects.get(pk=cluster.pk).status == "healthy"
    assert polling.due_cluster_ids() == []  # polled just now; due again after POLL_INTERVAL


def test_cluster_interval_decides_when_it_is_due():
    now = timezone.now()
    cluster = Cluster(name="x", poll_interval=60, last_polled_at=now - timedelta(seconds=30))
    assert not cluster.is_due(now)
    assert cluster.is_due(now + timedelta(seconds=30))
    assert Cluster(name="y").is_due(now)


def test_polls_and_pages_keep_working_while_redis_is_gone(nats_cluster, settings, make_user):
    dead = f"redis://127.0.0.1:{free_port()}/0"
    settings.REDIS_URL = dead
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                           "CONFIG": {"hosts": [dead]}}}
    cluster = services.register_cluster(name="lab", nats_urls=[], monitor_urls=nats_cluster.monitor_urls)
    started = time.monotonic()
    polled = polling.poll_cluster(cluster.pk)
    assert polled.status == "healthy"
    assert time.monotonic() - started < 10
    client = Client()
    client.force_login(make_user("root", is_superuser=True))
    overview = client.get("/")
    assert overview.status_code == 200 and "unreachable" in overview.content.decode()
    assert client.get("/clusters/lab/").status_code == 200
    assert client.get("/healthz").json()["status"] == "degraded"


def test_history_is_folded_into_minutes_then_hours_then_dropped(settings):
    settings.SAMPLES_RAW_HOURS, settings.SAMPLES_MINUTE_DAYS, settings.SAMPLES_HOUR_DAYS = 1, 1, 2
    cluster = Cluster.objects.create(name="lab")
    node = Node.objects.create(cluster=cluster, monitor_url="http://x:8222")
    now = timezone.now().replace(second=30, microsecond=0)
    old = now - timedelta(hours=2)
    for second, connections in ((0, 10), (10, 20), (20, 30)):  # three polls in one old minute
        NodeSample.objects.create(node=node, at=old.replace(second=second), connections=connections, cpu=1.0)
        StreamSample.objects.create(cluster=cluster, account="A", stream="S", at=old.replace(second=second),
                                    messages=connections)
        ConsumerSample.objects.create(cluster=cluster, account="A", stream="S", consumer="C",
                                      at=old.replace(second=second), num_pending=connections)
    NodeSample.objects.create(node=node, at=now, connections=5)  # recent: stays raw
    NodeSample.objects.create(node=node, at=now - timedelta(days=1, hours=2), connections=7,
                              resolution=Resolution.MINUTE)  # old minute: becomes an hour
    NodeSample.objects.create(node=node, at=now - timedelta(days=3), connections=9,
                              resolution=Resolution.HOUR)  # beyond every retention: dropped

    retention.downsample_and_prune(now=now)

    rows = sorted(NodeSample.objects.values_list("resolution", "connections"))
    assert rows == [(Resolution.RAW, 5), (Resolution.MINUTE, 20), (Resolution.HOUR, 7)]
    assert list(StreamSample.objects.values_list("resolution", "messages")) == [(Resolution.MINUTE, 20)]
    assert list(ConsumerSample.objects.values_list("resolution", "num_pending")) == [(Resolution.MINUTE, 20)]
    minute = NodeSample.objects.get(resolution=Resolution.MINUTE)
    assert minute.at == old.replace(second=0) and minute.cpu == 1.0


def test_poll_all_sends_a_cluster_once_until_its_poll_is_done():
    cluster = Cluster.objects.create(name="lab")
    assert list(polling.lease_due_clusters()) == [cluster.pk]
    assert list(polling.lease_due_clusters()) == []  # queued: beat's next tick does not send it again
    polling.release_lease(cluster.pk)
    assert list(polling.lease_due_clusters()) == [cluster.pk]
