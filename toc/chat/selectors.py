"""Reads of chat, always for one user: only a conversation's members reach it, its messages
and its files; anyone else gets None, as for something that does not exist."""

import uuid
from collections.abc import Iterable
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber

from toc.accounts.models import User
from toc.chat.models import Attachment, Conversation, ConversationKind, Membership, Message, MessageKind, Reaction
from toc.lib.ids import as_uuid

LIST_MEMBERS = 20
SEARCH_RESULTS = 50


def get_conversation_for_user(*, user: User, conversation_id: object) -> Conversation | None:
    key = as_uuid(conversation_id)
    if key is None:
        return None
    return Conversation.objects.filter(pk=key, memberships__user=user).first()


def is_member(*, user: User, conversation_id: object) -> bool:
    key = as_uuid(conversation_id)
    return key is not None and Membership.objects.filter(conversation_id=key, user=user).exists()


def get_attachment_for_user(*, user: User, attachment_id: object) -> Attachment | None:
    key = as_uuid(attachment_id)
    if key is None:
        return None
    return Attachment.objects.filter(pk=key, conversation__memberships__user=user).first()


def list_conversation_ids(*, user: User) -> list[uuid.UUID]:
    return list(Membership.objects.filter(user=user).values_list("conversation_id", flat=True))


def _unread_filter(user: User) -> Q:
    return Q(kind=MessageKind.MESSAGE, deleted_at__isnull=True) & ~Q(sender=user)


def unread_counts(*, user: User, conversation_ids: Iterable[uuid.UUID] | None = None) -> dict[uuid.UUID, int]:
    """Messages by others after `user`'s read mark, per conversation (only those with some)."""
    messages = Message.objects.filter(
        _unread_filter(user),
        conversation__memberships__user=user,
        sequence__gt=F("conversation__memberships__last_read_sequence"),
    )
    if conversation_ids is not None:
        messages = messages.filter(conversation_id__in=list(conversation_ids))
    rows = messages.values("conversation_id").annotate(count=Count("id")).values_list("conversation_id", "count")
    return {conversation_id: count for conversation_id, count in rows}


def _messages() -> QuerySet[Message]:
    return Message.objects.prefetch_related("attachments", "reactions__user")


def get_message(message_id: uuid.UUID) -> Message:
    """A message with its files and reactions loaded (for describing it)."""
    return _messages().get(pk=message_id)


def get_sent_message(*, user: User, conversation_id: object, client_id: uuid.UUID) -> Message | None:
    """The message `user` sent into a conversation of theirs under `client_id`, if any."""
    key = as_uuid(conversation_id)
    if key is None:
        return None
    return (
        _messages()
        .filter(conversation_id=key, conversation__memberships__user=user, sender=user, client_id=client_id)
        .first()
    )


def describe_message(
    message: Message, *, attachments: list[Attachment] | None = None, reactions: list[Reaction] | None = None
) -> dict[str, Any]:
    """What clients see of a message. `attachments` and `reactions`, when the caller has them
    in hand (a message just sent), save the queries."""
    if attachments is None:
        attachments = list(message.attachments.all())
    if reactions is None:
        reactions = list(message.reactions.all())
    described: dict[str, dict[str, Any]] = {}
    for reaction in sorted(reactions, key=lambda item: (item.created_at, item.pk)):
        entry = described.setdefault(reaction.emoji, {"emoji": reaction.emoji, "count": 0, "user_ids": [], "names": []})
        entry["count"] += 1
        entry["user_ids"].append(reaction.user_id)
        entry["names"].append(reaction.user.display_name)
    return {
        "id": str(message.pk),
        "conversation_id": str(message.conversation_id),
        "sequence": message.sequence,
        "kind": message.kind,
        "sender": {"user_id": message.sender_id, "name": message.sender_name},
        "envelope": message.envelope,
        "attachment_ids": [str(attachment.pk) for attachment in attachments],
        "reactions": list(described.values()),
        "client_id": str(message.client_id) if message.client_id else None,
        "created_at": message.created_at.isoformat(),
        "edited_at": message.edited_at.isoformat() if message.edited_at else None,
        "deleted_at": message.deleted_at.isoformat() if message.deleted_at else None,
    }


def describe_member(user: User) -> dict[str, Any]:
    return {"user_id": user.pk, "name": user.display_name, "extension": user.extension}


def _describe(
    conversation: Conversation,
    membership: Membership,
    *,
    user: User,
    members: list[User],
    member_count: int,
    unread: int,
    last_message: Message | None,
) -> dict[str, Any]:
    other = next((member for member in members if member.pk != user.pk), None)
    is_direct = conversation.kind == ConversationKind.DIRECT
    if is_direct:
        name = other.display_name if other is not None else "Former colleague"
    else:
        name = conversation.name or ", ".join(member.display_name for member in members if member.pk != user.pk)
    return {
        "id": str(conversation.pk),
        "kind": conversation.kind,
        "name": name,
        "has_name": bool(conversation.name),
        "members": [describe_member(member) for member in members],
        "member_count": member_count,
        "other_user_id": other.pk if is_direct and other is not None else None,
        "is_muted": membership.is_muted,
        "unread_count": unread,
        "last_read_sequence": membership.last_read_sequence,
        "last_sequence": conversation.last_sequence,
        "last_message": describe_message(last_message) if last_message is not None else None,
        "last_message_at": conversation.last_message_at.isoformat() if conversation.last_message_at else None,
        "created_at": conversation.created_at.isoformat(),
    }


def list_conversations(
    *, user: User, conversation_ids: list[uuid.UUID] | None = None, all_members: bool = False
) -> list[dict[str, Any]]:
    """`user`'s conversations, newest activity first, each as the client sees it. Large groups
    list their first LIST_MEMBERS members (`member_count` says how many there are) unless
    `all_members`, as `describe_conversation` asks."""
    memberships = Membership.objects.filter(user=user).select_related("conversation")
    if conversation_ids is not None:
        memberships = memberships.filter(conversation_id__in=conversation_ids)
    rows = list(memberships)
    ids = [row.conversation_id for row in rows]
    members = _members_by_conversation(ids, limit=None if all_members else LIST_MEMBERS)
    counts = dict(
        Membership.objects.filter(conversation_id__in=ids)
        .values("conversation_id")
        .annotate(count=Count("id"))
        .values_list("conversation_id", "count")
    )
    last_messages = {
        message.conversation_id: message
        for message in _messages().filter(conversation_id__in=ids, sequence=F("conversation__last_sequence"))
    }
    unread = unread_counts(user=user, conversation_ids=ids)
    described = [
        _describe(
            row.conversation,
            row,
            user=user,
            members=members.get(row.conversation_id, []),
            member_count=counts.get(row.conversation_id, 0),
            unread=unread.get(row.conversation_id, 0),
            last_message=last_messages.get(row.conversation_id),
        )
        for row in rows
    ]
    described.sort(key=lambda item: item["last_message_at"] or item["created_at"], reverse=True)
    return described


def _members_by_conversation(ids: list[uuid.UUID], *, limit: int | None) -> dict[uuid.UUID, list[User]]:
    """Each conversation's members in the order they joined, at most `limit` each (counted in
    the database, so a list of big groups does not read every member)."""
    rows = Membership.objects.filter(conversation_id__in=ids).select_related("user")
    if limit is not None:
        rows = rows.annotate(
            rank=Window(RowNumber(), partition_by=[F("conversation_id")], order_by=[F("joined_at"), F("pk")])
        ).filter(rank__lte=limit)
    members: dict[uuid.UUID, list[User]] = {}
    for row in rows.order_by("conversation_id", "joined_at", "pk"):
        members.setdefault(row.conversation_id, []).append(row.user)
    return members


def describe_conversation(*, user: User, conversation: Conversation) -> dict[str, Any]:
    (described,) = list_conversations(user=user, conversation_ids=[conversation.pk], all_members=True)
    return described


def list_messages(
    *, conversation: Conversation, before: int | None = None, after: int | None = None, limit: int = 50
) -> tuple[list[Message], bool]:
    """A page of messages in ascending order: the newest (neither bound), those before
    `before`, or those after `after`; and whether more lie beyond the page."""
    messages = _messages().filter(conversation=conversation)
    if after is not None:
        page = list(messages.filter(sequence__gt=after).order_by("sequence")[: limit + 1])
        return page[:limit], len(page) > limit
    if before is not None:
        messages = messages.filter(sequence__lt=before)
    page = list(messages.order_by("-sequence")[: limit + 1])
    return list(reversed(page[:limit])), len(page) > limit


def search_messages(*, user: User, query: str) -> list[Message]:
    """Messages in `user`'s conversations whose text (or file names) holds every word of
    `query`, newest first. Server-side until end-to-end encryption moves search into the client."""
    matches = (
        _messages()
        .select_related("conversation")
        .filter(conversation__memberships__user=user, kind=MessageKind.MESSAGE, deleted_at__isnull=True)
    )
    for word in query.split()[:10]:
        matches = matches.filter(search_text__icontains=word)
    return list(matches.order_by("-created_at")[:SEARCH_RESULTS])


def describe_search_result(*, message: Message, name: str) -> dict[str, Any]:
    """A search hit with its conversation's name as `user` sees it (`describe_conversation`)."""
    conversation = message.conversation
    return {
        "conversation": {"id": str(conversation.pk), "kind": conversation.kind, "name": name},
        "message": describe_message(message),
    }
