"""SMS live events, to the thread owner's own group (docs/sms.md lists types and payloads)."""

from typing import Any

from toc.accounts.models import User
from toc.lib.events import send_event
from toc.sms import selectors
from toc.sms.models import Message, Thread


def message_created(*, user: User, thread: Thread, message: Message) -> None:
    _send(
        thread,
        "sms.message_created",
        thread=selectors.describe_thread(user=user, thread=thread),
        message=selectors.describe_message(message),
    )


def message_updated(*, thread: Thread, message: Message) -> None:
    _send(thread, "sms.message_updated", thread_id=str(thread.id), message=selectors.describe_message(message))


def thread_read(*, user: User, thread: Thread) -> None:
    _send(thread, "sms.thread_read", thread_id=str(thread.id), unread_total=selectors.unread_total(user=user))


def thread_changed(*, user: User, thread: Thread) -> None:
    _send(thread, "sms.thread_changed", thread=selectors.describe_thread(user=user, thread=thread))


def _send(owner_thread: Thread, event_type: str, /, **payload: Any) -> None:
    send_event(event_type=event_type, payload=payload, user_ids=[owner_thread.user_id])
