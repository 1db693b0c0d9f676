"""Live events: the only way services tell clients that something changed.

Services call `send_event` inside their transaction; the event leaves only after commit, so
no client ever sees a change that was rolled back. Events go to per-user groups
(`user.<id>`), to a whole organisation (`org.<id>`, for directory-wide news such as
presence) or to other named groups whose sockets the consumer manages (`chat.<conversation>`:
one send reaches every member's sockets, however large the group). Every event is a JSON
object with a `type` of the form `<app>.<past_tense>`.
"""

import asyncio
import json
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def organisation_group(organisation_id: int) -> str:
    return f"org.{organisation_id}"


def send_event(
    *,
    event_type: str,
    payload: dict[str, Any],
    user_ids: Iterable[int] = (),
    organisation_id: int | None = None,
    group_names: Iterable[str] = (),
) -> None:
    """Send `{"type": event_type, **payload}` to the given users, organisation and groups after commit."""
    groups = [user_group(user_id) for user_id in user_ids]
    groups.extend(group_names)
    if organisation_id is not None:
        groups.append(organisation_group(organisation_id))
    event = {"type": event_type, **payload}
    # The JSON text goes along, made once here: a group's every socket sends it as it is,
    # instead of each encoding the same event again (most of a big fan-out's cost otherwise).
    message = {"type": "event.message", "event": event, "text": json.dumps(event)}

    async def send_all(layer: Any) -> None:
        # One trip into the event loop for every group (a new group's members can be many).
        await asyncio.gather(*(layer.group_send(group, message) for group in groups))

    def deliver() -> None:
        layer = get_channel_layer()
        if layer is None or not groups:
            return
        async_to_sync(send_all)(layer)

    transaction.on_commit(deliver)
