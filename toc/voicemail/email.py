"""Voicemail to e-mail: each new message, with its audio attached, to a mailbox owner who asked.

The outbox row (`VoicemailEmail`) is written in the message's own transaction, so a message is
never stored without its e-mail being owed. `send_email` claims the row under a lock (PENDING
-> SENDING), sends through Django's mail backend, and marks it SENT; a failure puts it back to
PENDING with a backoff (30 s, 1, 2, 4, 8 min) until `MAX_ATTEMPTS`, then FAILED. A worker that
dies after claiming leaves the row SENDING; the sweep hands it out again after
`CLAIM_TIMEOUT`. SMTP has no idempotency key, so a worker dying between the server's
acceptance and the SENT mark can mean a second copy: at least once, never lost.
"""

import logging
import smtplib
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from toc.voicemail.models import EmailStatus, Mailbox, VoicemailEmail, VoicemailMessage

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
FIRST_BACKOFF = timedelta(seconds=30)
CLAIM_TIMEOUT = timedelta(minutes=10)


def queue_email(*, mailbox: Mailbox, message: VoicemailMessage) -> VoicemailEmail | None:
    """Owe an e-mail for a new message (inside the message's transaction); sent after commit."""
    if not mailbox.email_enabled or not mailbox.user.email:
        return None
    row = VoicemailEmail.objects.create(
        message=message, organisation_id=mailbox.organisation_id, to_address=mailbox.user.email
    )
    row_id = row.pk
    transaction.on_commit(lambda: _schedule(row_id, countdown=0))
    return row


def _schedule(row_id: int, *, countdown: float) -> None:
    from toc.voicemail import tasks  # the tasks call back into this module

    tasks.send_voicemail_email.apply_async((row_id,), countdown=countdown)


def backoff(attempts: int) -> timedelta:
    return FIRST_BACKOFF * (2 ** max(attempts - 1, 0))


def send_email(*, row_id: int, now: datetime | None = None) -> str:
    """Send one owed e-mail if it is due; the row's status afterwards."""
    moment = now or timezone.now()
    with transaction.atomic():
        row = VoicemailEmail.objects.select_for_update().filter(pk=row_id).first()
        if row is None:
            return "missing"
        if row.status != EmailStatus.PENDING or row.next_attempt_at > moment:
            return str(row.status)
        row.status = EmailStatus.SENDING
        row.claimed_at = moment
        row.attempts += 1
        row.save(update_fields=["status", "claimed_at", "attempts"])
    message = (
        VoicemailMessage.objects.select_related("mailbox__user").filter(pk=row.message_id).first()
        if row.message_id is not None
        else None
    )
    if message is None:  # deleted before it could be sent: nothing to send
        VoicemailEmail.objects.filter(pk=row.pk).update(
            status=EmailStatus.FAILED, last_error="The message was deleted."
        )
        return EmailStatus.FAILED
    try:
        _build(message, row.to_address).send(fail_silently=False)
    except (smtplib.SMTPException, OSError) as error:
        return _failed(row, error, moment)
    VoicemailEmail.objects.filter(pk=row.pk).update(status=EmailStatus.SENT, sent_at=timezone.now(), last_error="")
    logger.info("voicemail: message %s e-mailed to %s", message.pk, row.to_address)
    return EmailStatus.SENT


def _failed(row: VoicemailEmail, error: Exception, moment: datetime) -> str:
    text = f"{type(error).__name__}: {error}"[:300]
    if row.attempts >= MAX_ATTEMPTS:
        VoicemailEmail.objects.filter(pk=row.pk).update(status=EmailStatus.FAILED, last_error=text)
        logger.error("voicemail: e-mail %s to %s failed for good: %s", row.pk, row.to_address, text)
        return EmailStatus.FAILED
    wait = backoff(row.attempts)
    VoicemailEmail.objects.filter(pk=row.pk).update(
        status=EmailStatus.PENDING, last_error=text, next_attempt_at=moment + wait
    )
    logger.warning("voicemail: e-mail %s to %s failed (%s); retrying in %s", row.pk, row.to_address, text, wait)
    _schedule(row.pk, countdown=wait.total_seconds())
    return EmailStatus.PENDING


def _build(message: VoicemailMessage, to_address: str) -> EmailMessage:
    caller = message.caller_name or message.caller_number or "an unknown caller"
    number = f" ({message.caller_number})" if message.caller_name and message.caller_number else ""
    local = timezone.localtime(message.created_at)
    seconds = round(message.duration_seconds)
    body = (
        f"{caller}{number} left you a voicemail message on {local:%A %d %B %Y at %H:%M}.\n"
        f"Length: {seconds // 60}:{seconds % 60:02d}\n\n"
        "The recording is attached. You can also play it in TOC under Voicemail, or dial *86.\n"
    )
    email = EmailMessage(
        subject=f"New voicemail from {caller}{number}",
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to_address],
    )
    with message.audio.open("rb") as audio:
        email.attach(f"voicemail-{local:%Y-%m-%d-%H%M}.wav", audio.read(), "audio/wav")
    return email


def sweep(*, now: datetime | None = None) -> int:
    """Beat: hand out e-mails that are due (their task was lost) or whose worker died mid-send."""
    moment = now or timezone.now()
    VoicemailEmail.objects.filter(status=EmailStatus.SENDING, claimed_at__lt=moment - CLAIM_TIMEOUT).update(
        status=EmailStatus.PENDING
    )
    due = list(
        VoicemailEmail.objects.filter(status=EmailStatus.PENDING, next_attempt_at__lte=moment).values_list(
            "pk", flat=True
        )[:100]
    )
    return sum(1 for row_id in due if send_email(row_id=row_id, now=moment) == EmailStatus.SENT)
