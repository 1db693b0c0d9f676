"""Celery tasks of SMS. They take ids (a number, a picture's id) and only move rows forward, so
running one twice, or after a crash, does no harm (toc.sms.services.sending explains why a
message is never sent twice)."""

import uuid

from celery import Task, shared_task
from celery.exceptions import MaxRetriesExceededError

from toc.sms import services
from toc.sms.backends import CarrierUnavailableError


@shared_task
def hand_over(local_number: str, wake_token: str = "") -> bool:
    handed_over = services.hand_over_next(local_number, wake_token)
    if handed_over:
        # Plan the number's next message (or find there is none).
        hand_over.delay(local_number)
    return handed_over


@shared_task
def sweep_outbox() -> int:
    """Wake every number with messages waiting, in case a planned task was lost with its worker."""
    numbers = services.numbers_with_outbox()
    for number in numbers:
        hand_over.delay(number)
    return len(numbers)


@shared_task(bind=True, max_retries=6)
def download_media(self: Task, media_id: str) -> None:
    try:
        services.download_media(uuid.UUID(media_id))
    except CarrierUnavailableError as failure:
        try:
            raise self.retry(countdown=min(5 * 2**self.request.retries, 300)) from failure
        except MaxRetriesExceededError:
            services.mark_download_failed(uuid.UUID(media_id), f"Could not download it: {failure.reason}")
