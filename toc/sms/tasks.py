"""Celery tasks of SMS. They take ids (a number, a picture's id) and only move rows forward, so
running one twice, or after a crash, does no harm (toc.sms.services.sending explains why a
message is never sent twice)."""

import datetime
import logging
import uuid

from celery import Task, shared_task
from celery.exceptions import MaxRetriesExceededError

from toc.sms import services
from toc.sms.backends import CarrierUnavailableError

logger = logging.getLogger(__name__)

# A received picture not downloaded this long after its message is fetched again by the sweep.
PENDING_MEDIA_MINUTES = 2


@shared_task
def hand_over(local_number: str, wake_token: str = "") -> bool:
    handed_over = services.hand_over_next(local_number, wake_token)
    if handed_over:
        services.plan_next(local_number)  # the number's next message, if any
    return handed_over


@shared_task
def sweep() -> dict[str, int]:
    """Wake every number with texts waiting, and fetch received pictures still to download, in
    case their tasks were lost (with a dead worker, or while the broker was away)."""
    numbers = services.numbers_with_outbox()
    for number in numbers:
        hand_over.delay(number)
    media_ids = services.pending_media_ids(older_than=datetime.timedelta(minutes=PENDING_MEDIA_MINUTES))
    for media_id in media_ids:
        download_media.delay(str(media_id))
    return {"numbers": len(numbers), "media": len(media_ids)}


@shared_task(bind=True, max_retries=6)
def download_media(self: Task, media_id: str) -> None:
    try:
        services.download_media(uuid.UUID(media_id))
    except Exception as failure:  # any failure (the carrier, storage): tried again, then given up on
        logger.warning("sms picture %s: download failed", media_id, exc_info=True)
        reason = failure.reason if isinstance(failure, CarrierUnavailableError) else type(failure).__name__
        try:
            raise self.retry(countdown=min(5 * 2**self.request.retries, 300)) from failure
        except MaxRetriesExceededError:
            services.mark_download_failed(uuid.UUID(media_id), f"Could not download it: {reason}")
