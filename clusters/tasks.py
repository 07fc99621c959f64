from celery import shared_task

from clusters import polling, retention


@shared_task(ignore_result=True)
def poll_all() -> int:
    """Fan out one poll task per due cluster, each holding its cluster's lease."""
    leased = polling.lease_due_clusters()
    for cluster_id in leased:
        poll_cluster.delay(cluster_id, leased=True)
    return len(leased)


@shared_task(ignore_result=True)
def poll_cluster(cluster_id: int, leased: bool = False) -> None:
    polling.poll_cluster(cluster_id, leased=leased)


@shared_task(ignore_result=True)
def downsample_history() -> None:
    retention.downsample_and_prune()
