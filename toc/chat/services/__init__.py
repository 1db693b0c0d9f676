"""Writes of chat: conversations and their members (`conversations`), messages, reactions,
read marks and typing (`messages`), and files (`attachments`).

Locks: a change to a conversation or its members, and every new message, takes the
conversation's row lock first (`select_for_update`), then anything inside it. So message
numbers have no gaps or repeats, a retried send (same `client_id`) is stored once, and a member
removed at the same moment as a send never receives it. Events leave after commit.
"""

from toc.chat.services.attachments import delete_unsent_attachments, upload_attachment
from toc.chat.services.base import ChatError
from toc.chat.services.conversations import (
    add_members,
    create_group,
    open_direct_chat,
    remove_member,
    rename_group,
    set_muted,
)
from toc.chat.services.messages import (
    delete_message,
    edit_message,
    mark_read,
    send_message,
    send_typing,
    set_reaction,
)

__all__ = [
    "ChatError",
    "add_members",
    "create_group",
    "delete_message",
    "delete_unsent_attachments",
    "edit_message",
    "mark_read",
    "open_direct_chat",
    "remove_member",
    "rename_group",
    "send_message",
    "send_typing",
    "set_muted",
    "set_reaction",
    "upload_attachment",
]
