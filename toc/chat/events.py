"""The chat's live events. Conversation-wide news goes to the conversation's group
(`chat.<id>`), which every member's sockets join (`toc.realtime.consumers`): one send reaches
all of them, however large the group. News about one person's membership or read state goes to
that user's own group. Event types and payloads are listed in docs/chat.md.
"""

import uuid
from typing import Any

from toc.lib.events import send_event


def conversation_group(conversation_id: uuid.UUID | str) -> str:
    return f"chat.{conversation_id}"


def to_conversation(conversation_id: uuid.UUID, event_type: str, payload: dict[str, Any]) -> None:
    send_event(
        event_type=event_type,
        payload={"conversation_id": str(conversation_id), **payload},
        group_names=[conversation_group(conversation_id)],
    )


def to_users(user_ids: list[int], event_type: str, conversation_id: uuid.UUID, **payload: Any) -> None:
    if user_ids:
        send_event(
            event_type=event_type, payload={"conversation_id": str(conversation_id), **payload}, user_ids=user_ids
        )
