"""What every chat write shares: the error users can cause, and loading a conversation for a
member under its row lock."""

import uuid

from django.utils import timezone

from toc.accounts.models import User
from toc.chat import envelope as envelopes
from toc.chat.models import Conversation, Message, MessageKind
from toc.lib.ids import as_uuid


class ChatError(Exception):
    """A request chat refuses; nothing was changed. `code`: not_found (shown as 404),
    forbidden (403) or invalid (400, with `field` naming what was wrong)."""

    def __init__(self, code: str, message: str, *, field: str = "non_field_errors") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


NOT_FOUND = "That conversation does not exist."


def locked_conversation(*, user: User, conversation_id: object) -> Conversation:
    """The conversation, row-locked, if `user` is a member of it (else ChatError not_found).
    Call inside a transaction."""
    key = as_uuid(conversation_id)
    conversation = (
        Conversation.objects.select_for_update().filter(pk=key, memberships__user=user).first()
        if key is not None
        else None
    )
    if conversation is None:
        raise ChatError("not_found", NOT_FOUND)
    return conversation


def append_message(
    conversation: Conversation,
    *,
    sender: User,
    kind: str,
    envelope: dict[str, object],
    search_text: str = "",
    client_id: uuid.UUID | None = None,
) -> Message:
    """Number and store the next message of a conversation whose row lock the caller holds."""
    now = timezone.now()
    conversation.last_sequence += 1
    conversation.last_message_at = now
    conversation.save(update_fields=["last_sequence", "last_message_at"])
    return Message.objects.create(
        conversation=conversation,
        organisation_id=conversation.organisation_id,
        sequence=conversation.last_sequence,
        kind=kind,
        sender=sender,
        sender_name=sender.display_name,
        envelope_format=str(envelope["format"]),
        envelope=envelope,
        search_text=search_text,
        client_id=client_id,
        created_at=now,
    )


def append_notice(conversation: Conversation, *, actor: User, event: str, users: list[User], name: str = "") -> Message:
    notice = envelopes.event(
        event=event,
        actor_id=actor.pk,
        user_ids=[user.pk for user in users],
        names=[user.display_name for user in users],
        name=name,
    )
    return append_message(conversation, sender=actor, kind=MessageKind.EVENT, envelope=notice)
