from celery import shared_task

from clusters import polling, retention


@shared_task(ignore_result=True)
def poll_all() -> int:
    """Fan out one poll task per due cluster, each holding its cluster's lease."""
    sent = 0
    for cluster_id in polling.lease_due_clusters():
        poll_cluster.delay(cluster_id, leased=True)
        sent += 1
    return sent


@shared_task(ignore_result=True)
def poll_cluster(cluster_id: int, leased: bool = False) -> None:
    polling.poll_cluster(cluster_id, leased=leased)


@shared_task(ignore_result=True)
def downsample_history() -> None:
    retention.downsample_and_prune()


@shared_task(ignore_result=True)
def refresh_accounts() -> int:
    """Fan out one refresh of the accounts' JetStream usage and limits per cluster."""
    from clusters.models import Cluster

    cluster_ids = list(Cluster.objects.values_list("pk", flat=True))
    for cluster_id in cluster_ids:
        refresh_cluster_accounts.delay(cluster_id)
    return len(cluster_ids)


@shared_task(ignore_result=True)
def refresh_cluster_accounts(cluster_id: int) -> int:
    from accounts import services

    return services.refresh_cluster_accounts(cluster_id=cluster_id)
