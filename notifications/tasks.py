from celery import shared_task

from notifications import services


@shared_task(bind=True, ignore_result=True, max_retries=None)
def deliver(self, delivery_id: int) -> None:
    """Send one notification; on a retryable failure try again after an exponential backoff
    (NOTIFY_RETRY_BACKOFF, doubling) until NOTIFY_MAX_ATTEMPTS attempts."""
    retry_in = services.attempt_delivery(delivery_id=delivery_id)
    if retry_in is not None:
        raise self.retry(countdown=retry_in)
