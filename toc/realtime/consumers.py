"""The one event socket per client (/ws/events/).

It authenticates from the session (or `?token=` for the desktop app), joins the user's and
the organisation's groups, registers the connection for presence, answers heartbeats, and
forwards events that services send. It also joins the group of every chat conversation the
user is in (`chat.<id>`), and joins or leaves them as `chat.conversation_changed` (with
`joined`) / `chat.conversation_removed` reach the user's own group; a chat event for a conversation this
socket has left is dropped, even if it was already on its way. The only orders it takes are call signalling messages
(`call.*`, handed to `toc.calls.signalling`, which trusts nothing in them); everything else a
client changes goes through the REST API.
"""

import time
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from toc.accounts.models import User
from toc.calls.signalling import CallSignalling
from toc.chat import selectors as chat_selectors
from toc.chat.events import conversation_group
from toc.lib.events import organisation_group, user_group
from toc.lib.useragent import device_label
from toc.presence import services as presence_services

CLOSE_UNAUTHENTICATED = 4401


class EventsConsumer(AsyncJsonWebsocketConsumer):
    user: User
    groups_joined: list[str]
    calls: CallSignalling | None = None
    conversations: set[str]
    groups_refreshed_at: float = 0.0

    async def connect(self) -> None:
        user = self.scope.get("user")
        self.groups_joined = []
        self.conversations = set()
        if not isinstance(user, User) or not user.is_active or user.organisation_id is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        assert user.organisation_id is not None
        self.groups_joined = [user_group(user.pk), organisation_group(user.organisation_id)]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        # After the user's own group: a membership change from now on reaches this socket.
        conversation_ids = await database_sync_to_async(chat_selectors.list_conversation_ids)(user=user)
        for conversation_id in conversation_ids:
            await self._join_conversation(str(conversation_id))
        await self.accept()
        self.groups_refreshed_at = time.monotonic()
        self.calls = CallSignalling(
            user=user, channel_name=self.channel_name, send=self.send_json, now=time.monotonic()
        )
        connection_id = await database_sync_to_async(presence_services.connect_client)(
            user=user, channel_name=self.channel_name, session_key=self._session_key(), label=self._device_label()
        )
        await self.send_json(
            {
                "type": "realtime.connected",
                "user_id": user.pk,
                "connection_id": connection_id,
                "heartbeat_seconds": settings.REALTIME_HEARTBEAT_SECONDS,
            }
        )

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels >= 4.2 runs close_old_connections() on the sync thread before every
        # handler: one thread round-trip per delivered event, queued ahead of real work (40 %
        # of the server's time in the presence fan-out benchmark). Every database call here
        # goes through database_sync_to_async, which closes old connections around itself.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        for conversation_id in list(self.conversations):
            await self._leave_conversation(conversation_id)
        if self.groups_joined:
            await database_sync_to_async(presence_services.disconnect_client)(channel_name=self.channel_name)
        if self.calls is not None:
            await self.calls.disconnected()

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await database_sync_to_async(presence_services.touch_client)(channel_name=self.channel_name)
            await self._refresh_groups()
            await self.send_json({"type": "pong"})
            return
        if isinstance(content, dict) and str(content.get("type", "")).startswith("call.") and self.calls is not None:
            await self.calls.handle(content, now=time.monotonic())
            return
        await self.send_json(
            {"type": "realtime.error", "error": 'This socket accepts {"type": "ping"} and call.* messages.'}
        )

    async def event_message(self, message: dict[str, Any]) -> None:
        event = message["event"]
        if event.get("type") == "accounts.signed_out":
            # Only the sockets of the session that ended close (all of them when the account
            # was disabled); the user's other sessions never see another session's key.
            if event.get("everywhere") is True or event.get("session_key") == self._session_key():
                await self.send_json({"type": "accounts.signed_out"})
                await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        event_type = str(event.get("type", ""))
        if event_type.startswith("chat."):
            conversation_id = str(event.get("conversation_id", ""))
            if event_type == "chat.conversation_changed" and event.get("joined") is True:
                # Events from different processes can cross: a "joined" may arrive after the
                # removal that followed it. The database says whether it still holds.
                if not await database_sync_to_async(chat_selectors.is_member)(
                    user=self.user, conversation_id=conversation_id
                ):
                    return
                await self._join_conversation(conversation_id)
            elif event_type == "chat.conversation_removed":
                await self._leave_conversation(conversation_id)
            elif conversation_id not in self.conversations:
                return
        text = message.get("text")
        if isinstance(text, str):
            await self.send(text_data=text)
        else:
            await self.send_json(event)

    async def _refresh_groups(self) -> None:
        """Join every group again now and then: the channel layer forgets a member after
        its group expiry (a day by default), and a socket may stay open longer than that."""
        now = time.monotonic()
        if now - self.groups_refreshed_at < settings.REALTIME_GROUP_REFRESH_SECONDS:
            return
        self.groups_refreshed_at = now
        groups = self.groups_joined + [conversation_group(conversation_id) for conversation_id in self.conversations]
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)

    async def _join_conversation(self, conversation_id: str) -> None:
        if conversation_id and conversation_id not in self.conversations:
            self.conversations.add(conversation_id)
            await self.channel_layer.group_add(conversation_group(conversation_id), self.channel_name)

    async def _leave_conversation(self, conversation_id: str) -> None:
        if conversation_id in self.conversations:
            self.conversations.discard(conversation_id)
            await self.channel_layer.group_discard(conversation_group(conversation_id), self.channel_name)

    def _device_label(self) -> str:
        headers = dict(self.scope.get("headers") or [])
        return device_label(headers.get(b"user-agent", b"").decode("latin-1"))

    def _session_key(self) -> str:
        session = self.scope.get("session")
        return (session.session_key or "") if session is not None else ""
