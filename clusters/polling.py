"""One poll of one cluster: take the cluster's poll lease, read every node, record the result.

The lease is a row update in the database, so two workers (or a worker and
`manage.py poll`) never poll the same cluster at once, with or without Redis.
"""

import time
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from clusters import monitoring, services
from clusters.models import Cluster, Node
from core import aio


def lease_seconds() -> float:
    # A poll costs at most one timeout per request wave; the margin covers recording.
    return settings.MONITOR_TIMEOUT * 2 + 30


def take_lease(cluster_id: int) -> bool:
    now = timezone.now()
    taken = Cluster.objects.filter(pk=cluster_id).filter(
        Q(poll_lease_until__isnull=True) | Q(poll_lease_until__lt=now)
    ).update(poll_lease_until=now + timedelta(seconds=lease_seconds()))
    return taken == 1


def release_lease(cluster_id: int) -> None:
    Cluster.objects.filter(pk=cluster_id).update(poll_lease_until=None)


def poll_cluster(cluster_id: int, *, leased: bool = False) -> Cluster | None:
    """Poll now; returns None when another poll of this cluster holds the lease. `leased`: the
    caller (poll_all) already took the lease for this poll."""
    if not leased and not take_lease(cluster_id):
        return None
    try:
        urls = list(Node.objects.filter(cluster_id=cluster_id).values_list("monitor_url", flat=True))
        polled_at = timezone.now()
        started = time.perf_counter()
        snapshots = aio.run(monitoring.fetch_nodes(urls, timeout=settings.MONITOR_TIMEOUT,
                                                    client=monitoring.pooled_client(cluster_id)))
        poll_ms = (time.perf_counter() - started) * 1000
        return services.record_poll(cluster_id=cluster_id, snapshots=snapshots, polled_at=polled_at,
                                    poll_ms=poll_ms)
    finally:
        release_lease(cluster_id)


def due_cluster_ids(now=None) -> list[int]:
    now = now or timezone.now()
    return [cluster.pk for cluster in Cluster.objects.only("pk", "poll_interval", "last_polled_at")
            if cluster.is_due(now)]


def lease_due_clusters(now=None):
    """Yields each due cluster as soon as its lease is taken, so its poll can start while the
    rest are leased: a cluster already queued or being polled is skipped, so a slow worker never
    collects a queue of repeated polls."""
    for cluster_id in due_cluster_ids(now):
        if take_lease(cluster_id):
            if Cluster.objects.only("pk", "poll_interval", "last_polled_at").get(pk=cluster_id).is_due(timezone.now()):
                yield cluster_id
            else:  # polled between the two reads
                release_lease(cluster_id)
