from celery import shared_task

from clusters import polling, retention


@shared_task(ignore_result=True)
def poll_all() -> int:
    """Fan out one poll task per cluster that is due."""
    due = polling.due_cluster_ids()
    for cluster_id in due:
        poll_cluster.delay(cluster_id)
    return len(due)


@shared_task(ignore_result=True)
def poll_cluster(cluster_id: int) -> None:
    polling.poll_cluster(cluster_id)


@shared_task(ignore_result=True)
def downsample_history() -> None:
    retention.downsample_and_prune()
