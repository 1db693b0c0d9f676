"""What arrives from the carrier: inbound messages (with their pictures, downloaded and kept
here), and status callbacks of the messages we sent."""

import datetime
import logging
import mimetypes
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from toc.accounts.models import User
from toc.sms import events
from toc.sms.backends import CarrierRefusedError, get_backend
from toc.sms.models import STATUS_RANK, Direction, Media, Message, Status, Thread
from toc.sms.segments import count_segments
from toc.sms.services.optout import keyword_choice, record_opt_out
from toc.sms.services.sending import MAX_PICTURES, OPTED_OUT_CODE, advance
from toc.sms.services.threads import thread_between

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IncomingMedia:
    url: str
    content_type: str


def receive_message(
    *, to_number: str, from_number: str, body: str, provider_sid: str, media: list[IncomingMedia], backend: str
) -> Message | None:
    """Store a message sent to one of our users' direct numbers, once per `provider_sid`.
    None when the number is nobody's (it is logged and dropped)."""
    if provider_sid:
        existing = Message.objects.filter(provider_sid=provider_sid).first()
        if existing is not None:
            return existing
    owner = User.objects.filter(direct_number=to_number, is_active=True, organisation__isnull=False).first()
    if owner is None:
        logger.warning("sms to %s, which is nobody's direct number: dropped", to_number)
        return None
    thread, _ = thread_between(user=owner, local_number=to_number, remote_number=from_number[:16])
    try:
        with transaction.atomic():
            message = _store_inbound(owner, thread, body, provider_sid, media, backend)
    except IntegrityError:
        # The same MessageSid delivered twice at once: the unique constraint kept one.
        return Message.objects.get(provider_sid=provider_sid)
    return message


def _store_inbound(
    owner: User, thread: Thread, body: str, provider_sid: str, media: list[IncomingMedia], backend: str
) -> Message:
    now = timezone.now()
    count = count_segments(body)
    message = Message.objects.create(
        organisation_id=thread.organisation_id,
        thread=thread,
        direction=Direction.INBOUND,
        local_number=thread.local_number,
        remote_number=thread.remote_number,
        body=body,
        segments=count.segments,
        encoding=count.encoding,
        status=Status.RECEIVED,
        backend=backend,
        provider_sid=provider_sid or None,
        created_at=now,
        status_changed_at=now,
    )
    for position, item in enumerate(media[:MAX_PICTURES]):
        Media.objects.create(
            message=message,
            name=f"file-{position + 1}",
            content_type=item.content_type[:100],
            source_url=item.url,
            position=position,
        )
    Thread.objects.filter(pk=thread.pk).update(unread_count=F("unread_count") + 1, last_message_at=now)
    thread.refresh_from_db(fields=["unread_count", "last_message_at"])
    choice = keyword_choice(body)
    if choice is not None:
        record_opt_out(thread=thread, opted_out=choice)
    events.message_created(user=owner, thread=thread, message=message)
    media_ids = list(message.media.values_list("pk", flat=True))
    if media_ids:
        transaction.on_commit(lambda: _download_later(media_ids), robust=True)
    return message


def _download_later(media_ids: list[uuid.UUID]) -> None:
    from toc.sms import tasks

    for media_id in media_ids:
        tasks.download_media.delay(str(media_id))


def apply_status(
    *, message_id: uuid.UUID, sid: str, status: str, error_code: str = "", error_message: str = ""
) -> Message | None:
    """A status callback for one of our messages. Statuses only move forward, so callbacks that
    arrive out of order (or twice) change nothing; the sid attaches when no worker recorded it."""
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(of=("self",))
            .select_related("thread__user")
            .filter(pk=message_id, direction=Direction.OUTBOUND)
            .first()
        )
        if message is None:
            return None
        if sid and message.provider_sid and message.provider_sid != sid:
            logger.warning("sms %s: status callback for %s, but it is %s", message_id, sid, message.provider_sid)
            return message
        changed = False
        if sid and not message.provider_sid and not Message.objects.filter(provider_sid=sid).exists():
            message.provider_sid, changed = sid, True
        if advance(message, status, error_code=error_code, error_message=error_message):
            changed = True
        if STATUS_RANK[message.status] > STATUS_RANK[Status.OUTBOX]:
            # The carrier has it: no worker needs to hand it over any more.
            message.handover_started_at = None
        if changed:
            message.save()
            events.message_updated(thread=message.thread, message=message)
        if error_code == OPTED_OUT_CODE:
            record_opt_out(thread=message.thread, opted_out=True)
    return message


def download_media(media_id: uuid.UUID) -> None:
    """Fetch an inbound picture from the carrier and keep it. Raises CarrierUnavailableError to be
    tried again; a permanent refusal is recorded on the picture."""
    media = Media.objects.filter(pk=media_id).first()
    if media is None or media.is_ready or media.download_error or not media.source_url:
        return
    try:
        downloaded = get_backend().download(media.source_url, max_bytes=settings.SMS_MAX_MMS_BYTES)
    except CarrierRefusedError as refusal:
        mark_download_failed(media_id, refusal.message)
        return
    extension = mimetypes.guess_extension(downloaded.content_type) or ".bin"
    with transaction.atomic():
        locked = Media.objects.select_for_update(of=("self",)).select_related("message__thread").get(pk=media_id)
        if locked.is_ready:
            return
        locked.file.save(f"{uuid.uuid4().hex}{extension}", ContentFile(downloaded.content), save=False)
        kind = "picture" if downloaded.content_type.startswith("image/") else "file"
        locked.name = f"{kind}-{locked.position + 1}{extension}"
        locked.content_type = downloaded.content_type[:100]
        locked.size = len(downloaded.content)
        locked.save()
        events.message_updated(thread=locked.message.thread, message=locked.message)


def mark_download_failed(media_id: uuid.UUID, reason: str) -> None:
    with transaction.atomic():
        media = (
            Media.objects.select_for_update(of=("self",)).select_related("message__thread").filter(pk=media_id).first()
        )
        if media is None or media.is_ready:
            return
        media.download_error = reason[:300]
        media.save(update_fields=["download_error"])
        events.message_updated(thread=media.message.thread, message=media.message)


def pending_media_ids(*, older_than: datetime.timedelta, limit: int = 500) -> list[uuid.UUID]:
    """Received pictures still to download whose task may have been lost (a broker outage, a
    dead worker): neither kept nor given up on, and older than `older_than`."""
    return list(
        Media.objects.filter(
            file="",
            download_error="",
            message__direction=Direction.INBOUND,
            message__created_at__lt=timezone.now() - older_than,
        )
        .exclude(source_url="")
        .values_list("pk", flat=True)[:limit]
    )
