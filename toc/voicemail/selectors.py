"""Reads of voicemail, always for one user: only a mailbox's owner reaches its messages."""

import uuid
from typing import Any

from toc.accounts.models import User
from toc.voicemail.models import Folder, Mailbox, VoicemailMessage


def get_message_for_user(*, user: User, message_id: object) -> VoicemailMessage | None:
    """The message if it is in `user`'s mailbox, else None (someone else's looks unknown)."""
    try:
        key = uuid.UUID(str(message_id)) if isinstance(message_id, str | uuid.UUID) else None
    except ValueError:
        key = None
    if key is None:
        return None
    return VoicemailMessage.objects.select_related("mailbox").filter(pk=key, mailbox__user=user).first()


def list_messages(*, user: User) -> list[VoicemailMessage]:
    return list(VoicemailMessage.objects.filter(mailbox__user=user).order_by("-created_at"))


def count_new(*, mailbox: Mailbox) -> int:
    return VoicemailMessage.objects.filter(mailbox=mailbox, folder=Folder.NEW).count()


def count_new_for_user(*, user: User) -> int:
    return VoicemailMessage.objects.filter(mailbox__user=user, folder=Folder.NEW).count()


def describe_message(message: VoicemailMessage) -> dict[str, Any]:
    return {
        "id": str(message.pk),
        "folder": message.folder,
        "caller": {"name": message.caller_name, "number": message.caller_number, "user_id": message.caller_id},
        "created_at": message.created_at.isoformat(),
        "duration_seconds": message.duration_seconds,
        "audio_url": f"/api/voicemail/messages/{message.pk}/audio/",
    }
