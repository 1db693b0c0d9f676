"""Sending: an outbox row first, then workers hand it to the carrier, one number at a pace.

1. `send_message` checks everything a user can get wrong, stores the message (status
   `outbox`) and its pictures, and after commit wakes the number's hand-over task.
2. `hand_over_next` (task `toc.sms.tasks.hand_over`, one message per run) locks the number's
   `SendingPace` row, which allows one hand-over per SMS_MILLISECONDS_PER_MESSAGE; it claims the
   oldest due message (`handover_started_at`), commits, and only then calls the carrier. When
   nothing may go yet it plans one wake-up task for when something may (never dropped: the
   message waits in the outbox).
3. The carrier's answer moves the message forward: handed over (sid, `queued`…), refused for
   good (`failed` with the reason), or to be tried again with backoff.

Never sent twice: a claim whose worker died (its lease, SMS_HANDOVER_LEASE_SECONDS, ran out)
or whose attempt ended without an answer (a timeout, a 5xx) is marked `outcome_unknown`, and the
next attempt first asks the carrier whether it has the message (`backend.find`), adopting it
if so. Status callbacks carry the message's id in their URL, so they attach the carrier's sid
even when no worker lived to record it.
"""

import datetime
import logging
import secrets
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from toc.accounts.models import User
from toc.lib.phone import format_for_display
from toc.sms import events, selectors
from toc.sms.backends import CarrierRefusedError, CarrierUnavailableError, Handover, Outgoing, get_backend
from toc.sms.models import STATUS_RANK, Direction, Media, Message, SendingPace, Status, Thread
from toc.sms.segments import count_segments
from toc.sms.services.base import SmsError
from toc.sms.services.optout import record_opt_out

logger = logging.getLogger(__name__)

MAX_BODY_CHARACTERS = 1600
MAX_PICTURES = 10
PICTURE_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
)
OPTED_OUT_CODE = "21610"
# A planned wake-up this late is taken for lost (its worker died), and planned again.
WAKE_STALE_AFTER = datetime.timedelta(seconds=30)
MAX_BACKOFF_SECONDS = 300


@dataclass(frozen=True)
class Picture:
    name: str
    content: bytes


def send_message(
    *, user: User, thread: Thread, body: str, pictures: list[Picture], client_id: uuid.UUID | None
) -> tuple[Message, bool]:
    """Store a message to send from the user's direct number; (message, created). A repeated
    `client_id` returns the message it already made."""
    if client_id is not None:
        existing = selectors.get_message_by_client_id(thread=thread, client_id=client_id)
        if existing is not None:
            return existing, False
    if user.direct_number != thread.local_number:
        raise SmsError(
            "to",
            f"This conversation is from {format_for_display(thread.local_number)}, "
            "which is no longer your direct number.",
        )
    text = body.strip()
    if not text and not pictures:
        raise SmsError("body", "Write a message or attach a picture.")
    if len(text) > MAX_BODY_CHARACTERS:
        raise SmsError("body", f"A message is at most {MAX_BODY_CHARACTERS} characters.")
    kinds = _picture_kinds(pictures)
    if selectors.is_opted_out(local_number=thread.local_number, remote_number=thread.remote_number):
        raise SmsError(
            "to",
            f"{format_for_display(thread.remote_number)} has opted out of texts from your number (they replied "
            "STOP). They can reply START to opt back in.",
        )
    try:
        with transaction.atomic():
            message = _store(user=user, thread=thread, text=text, pictures=pictures, kinds=kinds, client_id=client_id)
    except IntegrityError:
        # The same client_id at the same moment: the unique constraint kept one.
        existing = selectors.get_message_by_client_id(thread=thread, client_id=client_id) if client_id else None
        if existing is None:
            raise
        return existing, False
    return message, True


def check_picture_sizes(sizes: list[int]) -> None:
    """Refuse more pictures, or more bytes, than an MMS carries (before reading any of them)."""
    if len(sizes) > MAX_PICTURES:
        raise SmsError("media", f"An MMS can carry at most {MAX_PICTURES} pictures.")
    total, limit = sum(sizes), settings.SMS_MAX_MMS_BYTES
    if total > limit:
        raise SmsError("media", f"The pictures add up to {_size(total)}; an MMS can carry {_size(limit)}.")


def _picture_kinds(pictures: list[Picture]) -> list[tuple[str, str]]:
    check_picture_sizes([len(picture.content) for picture in pictures])
    kinds = []
    for picture in pictures:
        kind = next(((ctype, ext) for sig, ctype, ext in PICTURE_SIGNATURES if picture.content.startswith(sig)), None)
        if kind is None:
            raise SmsError("media", f"“{picture.name}” is not a JPEG, PNG or GIF picture; only those can be sent.")
        kinds.append(kind)
    return kinds


def _size(count: int) -> str:
    return f"{count / 1048576:.1f} MB" if count >= 1048576 else f"{max(1, round(count / 1024))} KB"


def _store(
    *,
    user: User,
    thread: Thread,
    text: str,
    pictures: list[Picture],
    kinds: list[tuple[str, str]],
    client_id: uuid.UUID | None,
) -> Message:
    now = timezone.now()
    count = count_segments(text)
    message = Message.objects.create(
        organisation_id=thread.organisation_id,
        thread=thread,
        direction=Direction.OUTBOUND,
        local_number=thread.local_number,
        remote_number=thread.remote_number,
        body=text,
        segments=count.segments,
        encoding=count.encoding,
        status=Status.OUTBOX,
        backend=get_backend().name,
        sent_by=user,
        client_id=client_id,
        created_at=now,
        status_changed_at=now,
    )
    for position, (picture, (content_type, extension)) in enumerate(zip(pictures, kinds, strict=True)):
        media = Media(
            message=message,
            name=(picture.name or f"picture-{position + 1}.{extension}")[:200],
            content_type=content_type,
            size=len(picture.content),
            public_token=secrets.token_urlsafe(32),
            position=position,
        )
        media.file.save(f"{uuid.uuid4().hex}.{extension}", ContentFile(picture.content), save=False)
        media.save()
    Thread.objects.filter(pk=thread.pk).update(last_message_at=now)
    thread.last_message_at = now
    events.message_created(user=user, thread=thread, message=message)
    local_number = thread.local_number
    transaction.on_commit(lambda: wake(local_number), robust=True)
    return message


def wake(local_number: str) -> None:
    """Ask a worker to hand over `local_number`'s next message (or plan when it may)."""
    from toc.sms import tasks

    tasks.hand_over.delay(local_number)


def hand_over_next(local_number: str, wake_token: str = "") -> bool:
    """Hand `local_number`'s oldest due message to the carrier, if its pace allows one now.
    Returns whether one was handed over (then more may be waiting)."""
    claimed = _claim(local_number, wake_token)
    if claimed is None:
        return False
    _hand_over(*claimed)
    return True


def plan_next(local_number: str) -> None:
    """After a hand-over: plan the number's next one (one task, when its pace allows)."""
    with transaction.atomic():
        pace = SendingPace.objects.select_for_update().get(pk=local_number)
        _plan_wake(pace, timezone.now())
        pace.save()


def _interval() -> datetime.timedelta:
    return datetime.timedelta(milliseconds=settings.SMS_MILLISECONDS_PER_MESSAGE)


def _lease() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.SMS_HANDOVER_LEASE_SECONDS)


def _outbox(local_number: str) -> QuerySet[Message]:
    return Message.objects.filter(direction=Direction.OUTBOUND, status=Status.OUTBOX, local_number=local_number)


def _due(local_number: str, now: datetime.datetime) -> QuerySet[Message]:
    return (
        _outbox(local_number)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .filter(Q(handover_started_at__isnull=True) | Q(handover_started_at__lt=now - _lease()))
    )


def _claim(local_number: str, wake_token: str) -> tuple[Message, Outgoing] | None:
    with transaction.atomic():
        SendingPace.objects.get_or_create(local_number=local_number)
        pace = SendingPace.objects.select_for_update().get(pk=local_number)
        now = timezone.now()
        if wake_token and pace.wake_token == wake_token:
            pace.wake_token, pace.wake_at = "", None
        message = None
        if pace.next_handover_at <= now:
            message = _due(local_number, now).order_by("created_at", "pk").select_for_update().first()
        if message is not None:
            # A claim that never finished (its worker died) may have reached the carrier.
            message.outcome_unknown = message.outcome_unknown or message.handover_started_at is not None
            if message.attempts >= settings.SMS_MAX_ATTEMPTS:
                _give_up(message, "its hand-overs never finished")
                message.handover_started_at = None
                message.save()
                events.message_updated(thread=message.thread, message=message)
                message = None
        if message is None:
            _plan_wake(pace, now)
            pace.save()
            return None
        message.handover_started_at = now
        message.first_handover_at = message.first_handover_at or now
        message.attempts += 1
        message.save(update_fields=["outcome_unknown", "handover_started_at", "first_handover_at", "attempts"])
        outgoing = _outgoing(message)
        get_backend()
        # The pace counts from here, with the request and the carrier's client ready (a fresh
        # process spends most of a second loading them): a number's sends stay an interval apart.
        pace.next_handover_at = timezone.now() + _interval()
        pace.save()
    return message, outgoing


def _plan_wake(pace: SendingPace, now: datetime.datetime) -> None:
    """Plan one task for when the number's next message may go, unless one is planned already."""
    due_times = []
    for next_attempt_at, started in _outbox(pace.local_number).values_list("next_attempt_at", "handover_started_at")[
        :1000
    ]:
        due = max(now, next_attempt_at or now, started + _lease() if started else now)
        due_times.append(due)
    if not due_times:
        return
    at = max(min(due_times), pace.next_handover_at)
    planned = pace.wake_at
    if pace.wake_token and planned is not None and now - WAKE_STALE_AFTER <= planned <= at:
        return
    token = uuid.uuid4().hex
    pace.wake_token, pace.wake_at = token, at
    local_number = pace.local_number

    def enqueue() -> None:
        from toc.sms import tasks

        tasks.hand_over.apply_async((local_number, token), eta=at)

    transaction.on_commit(enqueue, robust=True)


def _outgoing(message: Message) -> Outgoing:
    assert message.first_handover_at is not None
    base = settings.PUBLIC_URL
    return Outgoing(
        message_id=message.id,
        from_number=message.local_number,
        to_number=message.remote_number,
        body=message.body,
        media_urls=tuple(
            base + reverse("sms-public-media", args=[token])
            for token in message.media.order_by("position").values_list("public_token", flat=True)
        ),
        status_callback=base + reverse("sms-twilio-status", args=[message.id]),
        first_handover_at=message.first_handover_at,
    )


def _hand_over(message: Message, outgoing: Outgoing) -> None:
    backend = get_backend()
    outcome: Handover | CarrierRefusedError | CarrierUnavailableError
    try:
        found = _earlier_handover(message, backend.find(outgoing)) if message.outcome_unknown else None
        outcome = found or backend.send(outgoing)
    except (CarrierRefusedError, CarrierUnavailableError) as error:
        outcome = error
    except Exception as error:  # a bug or an answer nobody expected: it may have been sent
        logger.exception("sms %s: hand-over failed unexpectedly", message.pk)
        outcome = CarrierUnavailableError(f"Unexpected error ({type(error).__name__}).", outcome_unknown=True)
    try:
        _record(message, outcome, backend.name)
    except IntegrityError:
        # Another message took that sid first (the same text twice, both unsure): ask again later.
        _record(message, CarrierUnavailableError("Its sid is another message's.", outcome_unknown=True), backend.name)


def _earlier_handover(message: Message, candidates: list[Handover]) -> Handover | None:
    """The oldest of the carrier's matching messages that is not another of ours."""
    owned = set(
        Message.objects.filter(provider_sid__in=[c.sid for c in candidates if c.sid])
        .exclude(pk=message.pk)
        .values_list("provider_sid", flat=True)
    )
    return next((candidate for candidate in candidates if candidate.sid not in owned), None)


def _record(claimed: Message, outcome: Handover | CarrierRefusedError | CarrierUnavailableError, backend: str) -> None:
    with transaction.atomic():
        current = Message.objects.select_for_update(of=("self",)).select_related("thread__user").get(pk=claimed.pk)
        if current.status != Status.OUTBOX:
            # A status callback came first: the carrier has it. Only its sid may be news.
            if isinstance(outcome, Handover) and outcome.sid and not current.provider_sid:
                current.provider_sid = outcome.sid
                current.save(update_fields=["provider_sid"])
            return
        if current.handover_started_at != claimed.handover_started_at:
            # Our lease ran out and another worker claimed it; it asks the carrier first.
            logger.warning("sms %s: hand-over finished after its lease; left to the newer claim", claimed.pk)
            return
        if isinstance(outcome, CarrierRefusedError):
            _refused(current, outcome)
        elif isinstance(outcome, CarrierUnavailableError):
            _retry_later(current, outcome)
        else:
            _handed_over(current, outcome, backend)
        current.handover_started_at = None
        current.save()
        events.message_updated(thread=current.thread, message=current)


def advance(message: Message, status: str, *, error_code: str = "", error_message: str = "") -> bool:
    """Move `message` to `status` if that is further along; never back. Returns whether it moved."""
    if STATUS_RANK[status] <= STATUS_RANK[message.status]:
        return False
    message.status = status
    message.status_changed_at = timezone.now()
    message.error_code, message.error_message = error_code, error_message[:300]
    message.next_attempt_at = None
    message.outcome_unknown = False
    return True


def _handed_over(message: Message, handover: Handover, backend_name: str) -> None:
    message.backend = backend_name
    if handover.sid and not message.provider_sid:
        message.provider_sid = handover.sid
    advance(message, handover.status, error_code=handover.error_code, error_message=handover.error_message)


def _refused(message: Message, refusal: CarrierRefusedError) -> None:
    advance(message, Status.FAILED, error_code=refusal.code, error_message=refusal.message)
    if refusal.code == OPTED_OUT_CODE:
        record_opt_out(thread=message.thread, opted_out=True)


def _give_up(message: Message, reason: str) -> None:
    """No more attempts. If the carrier may have it, say so: `unconfirmed`, which its callbacks
    can still correct; otherwise `failed`."""
    if message.outcome_unknown:
        advance(
            message,
            Status.UNCONFIRMED,
            error_message=f"The carrier never confirmed it ({reason.rstrip('.')}). It may have been sent: check with "
            "the recipient before sending it again.",
        )
    else:
        gave_up = f"Not sent: {reason} TOC gave up after {message.attempts} attempts."
        advance(message, Status.FAILED, error_message=gave_up)


def _retry_later(message: Message, failure: CarrierUnavailableError) -> None:
    message.outcome_unknown = failure.outcome_unknown
    if message.attempts >= settings.SMS_MAX_ATTEMPTS:
        _give_up(message, failure.reason)
        return
    delay = failure.retry_after or min(2**message.attempts, MAX_BACKOFF_SECONDS)
    message.next_attempt_at = timezone.now() + datetime.timedelta(seconds=delay)
    local_number = message.local_number
    transaction.on_commit(lambda: wake(local_number), robust=True)


def numbers_with_outbox() -> list[str]:
    return list(
        Message.objects.filter(direction=Direction.OUTBOUND, status=Status.OUTBOX)
        .values_list("local_number", flat=True)
        .distinct()
        .order_by()
    )
