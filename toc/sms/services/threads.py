"""Opening a thread with an outside number, and read marks."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from toc.accounts.access import organisation_id_of
from toc.accounts.models import User
from toc.sms import events
from toc.sms.models import Thread
from toc.sms.services.base import SmsError, canadian_number

NO_NUMBER = "You have no direct number to send SMS from. Ask your administrator."


def open_thread(*, user: User, to: str) -> tuple[Thread, bool]:
    """The user's thread with `to` (created if new), and whether it was created."""
    if not user.direct_number or user.organisation_id is None:
        raise SmsError("to", NO_NUMBER)
    remote = canadian_number(to)
    if remote == user.direct_number:
        raise SmsError("to", "That is your own number.")
    return thread_between(user=user, local_number=user.direct_number, remote_number=remote)


def thread_between(*, user: User, local_number: str, remote_number: str) -> tuple[Thread, bool]:
    existing = Thread.objects.filter(user=user, local_number=local_number, remote_number=remote_number).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            thread = Thread.objects.create(
                organisation_id=organisation_id_of(user),
                user=user,
                local_number=local_number,
                remote_number=remote_number,
                created_at=timezone.now(),
            )
    except IntegrityError:
        # Opened at the same moment elsewhere: the unique constraint kept one.
        return Thread.objects.get(user=user, local_number=local_number, remote_number=remote_number), False
    return thread, True


def mark_read(*, user: User, thread: Thread) -> None:
    with transaction.atomic():
        changed = Thread.objects.filter(pk=thread.pk, user=user, unread_count__gt=0).update(unread_count=0)
        thread.unread_count = 0
        if changed:
            events.thread_read(user=user, thread=thread)
