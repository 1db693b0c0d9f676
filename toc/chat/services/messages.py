"""Messages: send (at most once per `client_id`), edit and delete your own, react, read marks,
typing.

A read mark only ever moves forward, and sending a message moves the sender's own mark to it.
Deleting a message keeps its place (number, sender, time) and drops its content, its files and
its reactions, so every member sees "This message was deleted".
"""

import uuid

from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from toc.accounts.models import User
from toc.chat import emoji, events, selectors
from toc.chat import envelope as envelopes
from toc.chat.models import Attachment, Conversation, Membership, Message, MessageKind, Reaction
from toc.chat.services.base import ChatError, append_message, locked_conversation
from toc.lib.ids import as_uuid

MAX_REACTIONS_PER_PERSON = 20
MESSAGE_NOT_FOUND = "That message does not exist."


def _checked(envelope: object, *, attachment_ids: list[str]) -> envelopes.CheckedEnvelope:
    try:
        return envelopes.check(envelope, attachment_ids=attachment_ids)
    except envelopes.EnvelopeError as error:
        raise ChatError("invalid", str(error), field="envelope") from error


def _attachment_keys(attachment_ids: object) -> list[uuid.UUID]:
    if not isinstance(attachment_ids, list):
        raise ChatError("invalid", "Give a list of attachment ids.", field="attachment_ids")
    keys = [as_uuid(item) for item in attachment_ids]
    if any(key is None for key in keys):
        raise ChatError("invalid", "An attachment id is not valid.", field="attachment_ids")
    return list(dict.fromkeys(key for key in keys if key is not None))


def send_message(
    *, user: User, conversation_id: object, envelope: object, attachment_ids: object = (), client_id: object = None
) -> tuple[Message, bool]:
    """Store and deliver a message. Returns it and whether it is new: the same `client_id`
    sent again (a retry) returns the message stored the first time."""
    keys = _attachment_keys(list(attachment_ids) if isinstance(attachment_ids, tuple) else attachment_ids)
    checked = _checked(envelope, attachment_ids=[str(key) for key in keys])
    client_key = as_uuid(client_id) if client_id is not None else None
    if client_id is not None and client_key is None:
        raise ChatError("invalid", "client_id is a UUID.", field="client_id")
    if client_key is not None:
        earlier = selectors.get_sent_message(user=user, conversation_id=conversation_id, client_id=client_key)
        if earlier is not None:
            return earlier, False
    try:
        # Everyone's messages in this conversation wait on its lock: only the numbering and
        # the writes happen under it, and the event is built from what is in hand.
        with transaction.atomic():
            conversation = locked_conversation(user=user, conversation_id=conversation_id)
            attachments = _take_attachments(conversation=conversation, user=user, keys=keys)
            message = append_message(
                conversation,
                sender=user,
                kind=MessageKind.MESSAGE,
                envelope=checked.envelope,
                search_text=checked.search_text,
                client_id=client_key,
            )
            if attachments:
                Attachment.objects.filter(pk__in=keys).update(message=message)
            Membership.objects.filter(conversation=conversation, user=user).update(last_read_sequence=message.sequence)
            described = selectors.describe_message(message, attachments=attachments, reactions=[])
            events.to_conversation(conversation.pk, "chat.message_sent", {"message": described})
    except IntegrityError:
        # The same client_id, sent twice at once: the other request stored it.
        earlier = (
            selectors.get_sent_message(user=user, conversation_id=conversation_id, client_id=client_key)
            if client_key is not None
            else None
        )
        if earlier is None:
            raise
        return earlier, False
    # After the lock: the sender's counts over all their conversations need not hold it up.
    _announce_read(user=user, conversation_id=conversation.pk, sequence=message.sequence)
    return message, True


def _take_attachments(*, conversation: Conversation, user: User, keys: list[uuid.UUID]) -> list[Attachment]:
    """The uploads `keys`, row-locked, if `user` uploaded them here and none was sent yet."""
    if not keys:
        return []
    attachments = list(
        Attachment.objects.select_for_update().filter(
            pk__in=keys, conversation=conversation, uploaded_by=user, message__isnull=True
        )
    )
    if len(attachments) != len(keys):
        raise ChatError(
            "invalid", "A file of this message was not uploaded here, or was sent already.", field="attachment_ids"
        )
    return attachments


def _locked_message(*, user: User, message_id: object) -> Message:
    key = as_uuid(message_id)
    message = (
        Message.objects.select_for_update()
        .filter(pk=key, conversation__memberships__user=user, kind=MessageKind.MESSAGE)
        .first()
        if key is not None
        else None
    )
    if message is None:
        raise ChatError("not_found", MESSAGE_NOT_FOUND)
    return message


def _own_live_message(*, user: User, message_id: object, verb: str) -> Message:
    message = _locked_message(user=user, message_id=message_id)
    if message.sender_id != user.pk:
        raise ChatError("forbidden", f"You can {verb} only your own messages.")
    if message.deleted_at is not None:
        raise ChatError("invalid", "That message was deleted.")
    return message


def edit_message(*, user: User, message_id: object, envelope: object) -> Message:
    """Replace the content of one of `user`'s messages; it keeps the files it carries."""
    with transaction.atomic():
        message = _own_live_message(user=user, message_id=message_id, verb="edit")
        carried = [str(key) for key in message.attachments.values_list("pk", flat=True)]
        checked = _checked(envelope, attachment_ids=carried)
        message.envelope_format = checked.format
        message.envelope = checked.envelope
        message.search_text = checked.search_text
        message.edited_at = timezone.now()
        message.save(update_fields=["envelope_format", "envelope", "search_text", "edited_at"])
        return _announced(message, "chat.message_edited")


def _announced(message: Message, event_type: str) -> Message:
    """The message as it is now (with its reactions and files, in a fixed number of queries),
    told to the conversation."""
    fresh = selectors.get_message(message.pk)
    events.to_conversation(fresh.conversation_id, event_type, {"message": selectors.describe_message(fresh)})
    return fresh


def delete_message(*, user: User, message_id: object) -> Message:
    """Delete one of `user`'s messages (again: nothing more happens)."""
    with transaction.atomic():
        message = _locked_message(user=user, message_id=message_id)
        if message.sender_id != user.pk:
            raise ChatError("forbidden", "You can delete only your own messages.")
        if message.deleted_at is not None:
            return message
        files = [attachment.file.name for attachment in message.attachments.all() if attachment.file.name]
        message.attachments.all().delete()
        message.reactions.all().delete()
        message.envelope_format = ""
        message.envelope = None
        message.search_text = ""
        message.deleted_at = timezone.now()
        message.save(update_fields=["envelope_format", "envelope", "search_text", "deleted_at"])
        transaction.on_commit(lambda: _delete_files(files))
        return _announced(message, "chat.message_deleted")


def _delete_files(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)


def set_reaction(*, user: User, message_id: object, reaction: object, reacted: bool) -> Message:
    """Put or take back `user`'s reaction; doing what is already done changes nothing."""
    if not isinstance(reaction, str) or not emoji.is_reaction_emoji(reaction):
        raise ChatError("invalid", "A reaction is one emoji.", field="emoji")
    reaction = emoji.canonical_reaction(reaction)  # ❤ and ❤️ are one reaction
    with transaction.atomic():
        message = _locked_message(user=user, message_id=message_id)
        if message.deleted_at is not None:
            raise ChatError("invalid", "That message was deleted.")
        mine = Reaction.objects.filter(message=message, user=user)
        if reacted and not mine.filter(emoji=reaction).exists():
            if mine.count() >= MAX_REACTIONS_PER_PERSON:
                raise ChatError(
                    "invalid", f"At most {MAX_REACTIONS_PER_PERSON} reactions each on one message.", field="emoji"
                )
            try:
                with transaction.atomic():
                    Reaction.objects.create(message=message, user=user, emoji=reaction)
            except IntegrityError:
                pass
        elif not reacted:
            mine.filter(emoji=reaction).delete()
        return _announced(message, "chat.reaction_changed")


def mark_read(*, user: User, conversation_id: object, sequence: object) -> Membership:
    """Move `user`'s read mark up to `sequence` (never back, never past the newest message)."""
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 0:
        raise ChatError("invalid", "sequence is a message number.", field="sequence")
    conversation = selectors.get_conversation_for_user(user=user, conversation_id=conversation_id)
    if conversation is None:
        raise ChatError("not_found", "That conversation does not exist.")
    target = min(sequence, conversation.last_sequence)
    with transaction.atomic():
        moved = Membership.objects.filter(conversation=conversation, user=user, last_read_sequence__lt=target).update(
            last_read_sequence=target
        )
        if moved:
            _announce_read(user=user, conversation_id=conversation.pk, sequence=target)
    return Membership.objects.get(conversation=conversation, user=user)


def _announce_read(*, user: User, conversation_id: uuid.UUID, sequence: int) -> None:
    unread = selectors.unread_counts(user=user)
    events.to_users(
        [user.pk],
        "chat.read_changed",
        conversation_id,
        last_read_sequence=sequence,
        unread_count=unread.get(conversation_id, 0),
        unread_total=sum(unread.values()),
    )


def send_typing(*, user: User, conversation_id: object) -> None:
    """Tell the other members that `user` is typing (nothing is stored)."""
    conversation = selectors.get_conversation_for_user(user=user, conversation_id=conversation_id)
    if conversation is None:
        raise ChatError("not_found", "That conversation does not exist.")
    events.to_conversation(conversation.pk, "chat.typing", {"user_id": user.pk, "name": user.display_name})
