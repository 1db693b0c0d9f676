"""Conversations and their members: open a direct chat, create, rename, add and remove members
(removing yourself is leaving), mute.

Any member of a group may rename it, add colleagues of the same organisation, or remove a
member; direct chats keep their two members for good. Each change to a group also writes a
notice into it ("Alice added Bob"), numbered like any message.
"""

from django.conf import settings
from django.db import IntegrityError, transaction

from toc.accounts.access import organisation_id_of
from toc.accounts.models import User
from toc.chat import events, selectors
from toc.chat.models import Conversation, ConversationKind, Membership
from toc.chat.services.base import NOT_FOUND, ChatError, append_notice, locked_conversation

MAX_NAME_CHARS = 100


def _colleagues(*, user: User, user_ids: object, field: str) -> list[User]:
    """Active members of `user`'s organisation with those ids, in the order given (no repeats)."""
    if not isinstance(user_ids, list) or not all(
        isinstance(item, int) and not isinstance(item, bool) for item in user_ids
    ):
        raise ChatError("invalid", "Give a list of user ids.", field=field)
    wanted = list(dict.fromkeys(user_ids))
    found = {
        colleague.pk: colleague
        for colleague in User.objects.filter(pk__in=wanted, organisation_id=organisation_id_of(user), is_active=True)
    }
    missing = [str(user_id) for user_id in wanted if user_id not in found]
    if missing:
        raise ChatError("invalid", f"No colleague has the id {', '.join(missing)}.", field=field)
    return [found[user_id] for user_id in wanted]


def _clean_name(name: object) -> str:
    if not isinstance(name, str):
        raise ChatError("invalid", "The name is text.", field="name")
    cleaned = " ".join(name.split())
    if len(cleaned) > MAX_NAME_CHARS:
        raise ChatError("invalid", f"A group's name is at most {MAX_NAME_CHARS} characters.", field="name")
    return cleaned


def _check_size(count: int) -> None:
    if count > settings.CHAT_MAX_GROUP_MEMBERS:
        raise ChatError(
            "invalid", f"A group has at most {settings.CHAT_MAX_GROUP_MEMBERS} members.", field="member_ids"
        )


def open_direct_chat(*, user: User, other_user_id: object) -> tuple[Conversation, bool]:
    """The direct chat of `user` and a colleague, made on first use. Returns it and whether it is new."""
    (other,) = _colleagues(user=user, user_ids=[other_user_id], field="user_id")
    if other.pk == user.pk:
        raise ChatError("invalid", "Choose someone else to chat with.", field="user_id")
    low, high = sorted((user.pk, other.pk))
    key = f"{low}:{high}"
    organisation_id = organisation_id_of(user)
    existing = Conversation.objects.filter(organisation_id=organisation_id, direct_key=key).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(
                organisation_id=organisation_id, kind=ConversationKind.DIRECT, direct_key=key, created_by=user
            )
            Membership.objects.bulk_create(
                [Membership(conversation=conversation, user=member) for member in (user, other)]
            )
            events.to_users([user.pk, other.pk], "chat.conversation_changed", conversation.pk, joined=True)
    except IntegrityError:
        # Both people opened it at once: the other request made it.
        return Conversation.objects.get(organisation_id=organisation_id, direct_key=key), False
    return conversation, True


def create_group(*, user: User, name: object = "", member_ids: object) -> Conversation:
    """A new group of `user` and the colleagues `member_ids`."""
    cleaned = _clean_name(name)
    others = [member for member in _colleagues(user=user, user_ids=member_ids, field="member_ids") if member != user]
    if not others:
        raise ChatError("invalid", "Add at least one colleague to the group.", field="member_ids")
    _check_size(len(others) + 1)
    with transaction.atomic():
        conversation = Conversation.objects.create(
            organisation_id=organisation_id_of(user), kind=ConversationKind.GROUP, name=cleaned, created_by=user
        )
        Membership.objects.bulk_create(
            [Membership(conversation=conversation, user=member) for member in [user, *others]]
        )
        append_notice(conversation, actor=user, event="created", users=others, name=cleaned)
        events.to_users(
            [user.pk] + [member.pk for member in others], "chat.conversation_changed", conversation.pk, joined=True
        )
    return conversation


def _locked_group(*, user: User, conversation_id: object) -> Conversation:
    conversation = locked_conversation(user=user, conversation_id=conversation_id)
    if conversation.kind != ConversationKind.GROUP:
        raise ChatError("invalid", "A direct chat keeps its two members and has no name of its own.")
    return conversation


def rename_group(*, user: User, conversation_id: object, name: object) -> Conversation:
    cleaned = _clean_name(name)
    with transaction.atomic():
        conversation = _locked_group(user=user, conversation_id=conversation_id)
        if conversation.name == cleaned:
            return conversation
        conversation.name = cleaned
        conversation.save(update_fields=["name"])
        notice = append_notice(conversation, actor=user, event="renamed", users=[], name=cleaned)
        events.to_conversation(conversation.pk, "chat.conversation_changed", {})
        events.to_conversation(conversation.pk, "chat.message_sent", {"message": selectors.describe_message(notice)})
    return conversation


def add_members(*, user: User, conversation_id: object, user_ids: object) -> Conversation:
    """Add colleagues to a group; those already in it are left as they are."""
    with transaction.atomic():
        conversation = _locked_group(user=user, conversation_id=conversation_id)
        colleagues = _colleagues(user=user, user_ids=user_ids, field="user_ids")
        present = set(Membership.objects.filter(conversation=conversation).values_list("user_id", flat=True))
        joining = [colleague for colleague in colleagues if colleague.pk not in present]
        if not joining:
            return conversation
        _check_size(len(present) + len(joining))
        # Newcomers start with nothing unread: the history before them is there to read, not owed.
        Membership.objects.bulk_create(
            [
                Membership(conversation=conversation, user=member, last_read_sequence=conversation.last_sequence)
                for member in joining
            ]
        )
        notice = append_notice(conversation, actor=user, event="added", users=joining)
        # The newcomers' sockets join the conversation's group when this reaches them.
        events.to_users([member.pk for member in joining], "chat.conversation_changed", conversation.pk, joined=True)
        events.to_conversation(conversation.pk, "chat.conversation_changed", {})
        events.to_conversation(conversation.pk, "chat.message_sent", {"message": selectors.describe_message(notice)})
    return conversation


def remove_member(*, user: User, conversation_id: object, member_id: object) -> None:
    """Remove a member from a group; removing yourself is leaving it."""
    with transaction.atomic():
        conversation = _locked_group(user=user, conversation_id=conversation_id)
        membership = (
            Membership.objects.select_related("user").filter(conversation=conversation, user_id=member_id).first()
            if isinstance(member_id, int)
            else None
        )
        if membership is None:
            raise ChatError("not_found", "That person is not in this group.")
        removed = membership.user
        membership.delete()
        if removed == user:
            notice = append_notice(conversation, actor=user, event="left", users=[user])
        else:
            notice = append_notice(conversation, actor=user, event="removed", users=[removed])
        # First the removed person's sockets leave the group, then the others hear of it.
        events.to_users([removed.pk], "chat.conversation_removed", conversation.pk)
        events.to_conversation(conversation.pk, "chat.conversation_changed", {})
        events.to_conversation(conversation.pk, "chat.message_sent", {"message": selectors.describe_message(notice)})


def set_muted(*, user: User, conversation_id: object, is_muted: bool) -> Conversation:
    """Mute or unmute a conversation's notifications for `user` (on all their devices)."""
    conversation = selectors.get_conversation_for_user(user=user, conversation_id=conversation_id)
    if conversation is None:
        raise ChatError("not_found", NOT_FOUND)
    with transaction.atomic():
        Membership.objects.filter(conversation=conversation, user=user).update(is_muted=is_muted)
        events.to_users([user.pk], "chat.conversation_changed", conversation.pk)
    return conversation
