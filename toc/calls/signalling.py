"""Call signalling on the event socket: the `call.*` messages a client sends (docs/calls.md).

Nothing that arrives here is trusted: each message is checked for shape, rate-limited per
connection (a token bucket), and handed to a service that loads the call through the user
(someone else's call id looks exactly like an unknown one). Every refusal is a `call.error`
reply with the request's id, and changes nothing.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from toc.accounts.models import User
from toc.calls import services
from toc.calls.models import Call
from toc.calls.services import CallError

MAX_REQUEST_ID_LENGTH = 64
MAX_DESTINATION_LENGTH = 64

Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass
class TokenBucket:
    """`rate` messages a second on average, bursts of up to `burst`; `now` is monotonic seconds."""

    rate: float
    burst: float
    tokens: float
    updated: float

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class CallSignalling:
    """The call side of one event socket."""

    def __init__(self, *, user: User, channel_name: str, send: Send, now: float) -> None:
        self.user = user
        self.channel_name = channel_name
        self.send = send
        rate = float(settings.CALL_SIGNALLING_RATE)
        burst = float(settings.CALL_SIGNALLING_BURST)
        self.bucket = TokenBucket(rate=rate, burst=burst, tokens=burst, updated=now)

    async def handle(self, content: dict[str, Any], *, now: float) -> None:
        request_id = content.get("request_id")
        if request_id is not None and (not isinstance(request_id, str) or len(request_id) > MAX_REQUEST_ID_LENGTH):
            await self._error(None, "invalid", "A request_id is a string of at most 64 characters.")
            return
        if not self.bucket.take(now):
            await self._error(request_id, "rate_limited", "Too many call messages; slow down.")
            return
        handler = self._handlers().get(str(content.get("type")))
        if handler is None:
            await self._error(request_id, "invalid", f"Unknown message type “{str(content.get('type'))[:40]}”.")
            return
        try:
            reply = await handler(content)
        except CallError as error:
            await self._error(request_id, error.code, error.message)
            return
        if reply is not None:
            await self.send({**reply, "request_id": request_id})

    def _handlers(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]]:
        return {
            "call.place": self._place,
            "call.answer": self._answer,
            "call.decline": self._decline,
            "call.hangup": self._hangup,
            "call.dtmf": self._dtmf,
            "call.ice": self._ice,
            "call.reclaim": self._reclaim,
            "call.hold": self._on_call(services.hold_call),
            "call.resume": self._on_call(services.resume_call),
            "call.transfer": self._transfer,
            "call.transfer_voicemail": self._transfer_voicemail,
            "call.consult": self._consult,
            "call.complete_transfer": self._on_call(services.complete_transfer),
            "call.cancel_transfer": self._on_call(services.cancel_consultation),
            "call.park": self._on_call(services.park_call),
            "call.devices": self._devices,
            "call.switch": self._switch,
            "call.take": self._take,
            "call.add": self._add,
            "call.conference_start": self._conference_start,
            "call.conference_mute": self._conference_mute,
            "call.conference_remove": self._conference_remove,
        }

    def _on_call(self, service: Callable[..., Call]) -> Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]:
        """A handler for `{call_id}` messages whose service takes (user, call_id)."""

        async def handle(content: dict[str, Any]) -> dict[str, Any]:
            call = await database_sync_to_async(service)(user=self.user, call_id=content.get("call_id"))
            return await self._reply("call.accepted", call)

        return handle

    async def _error(self, request_id: object, code: str, message: str) -> None:
        await self.send({"type": "call.error", "request_id": request_id, "code": code, "error": message})

    async def _reply(self, reply_type: str, call: Call) -> dict[str, Any]:
        described = await database_sync_to_async(services.describe_for)(call, self.user)
        return {"type": reply_type, "call": described}

    async def _place(self, content: dict[str, Any]) -> dict[str, Any]:
        destination = content.get("destination")
        if not isinstance(destination, str) or len(destination) > MAX_DESTINATION_LENGTH:
            raise CallError("invalid", "Enter a number or an extension to call.")
        call = await database_sync_to_async(services.place_call)(
            user=self.user, channel_name=self.channel_name, destination=destination, sdp=content.get("sdp")
        )
        return await self._reply("call.placed", call)

    async def _answer(self, content: dict[str, Any]) -> dict[str, Any]:
        call = await database_sync_to_async(services.answer_call)(
            user=self.user, call_id=content.get("call_id"), channel_name=self.channel_name, sdp=content.get("sdp")
        )
        return await self._reply("call.accepted", call)

    async def _decline(self, content: dict[str, Any]) -> dict[str, Any]:
        call = await database_sync_to_async(services.decline_call)(user=self.user, call_id=content.get("call_id"))
        return await self._reply("call.accepted", call)

    async def _hangup(self, content: dict[str, Any]) -> dict[str, Any]:
        call = await database_sync_to_async(services.hang_up)(user=self.user, call_id=content.get("call_id"))
        return await self._reply("call.accepted", call)

    async def _dtmf(self, content: dict[str, Any]) -> dict[str, Any]:
        call = await database_sync_to_async(services.send_dtmf)(
            user=self.user, call_id=content.get("call_id"), digits=content.get("digits")
        )
        return await self._reply("call.accepted", call)

    async def _ice(self, content: dict[str, Any]) -> None:
        await database_sync_to_async(services.add_ice_candidate)(
            user=self.user,
            leg_id=content.get("leg_id"),
            channel_name=self.channel_name,
            candidate=content.get("candidate"),
        )
        return None

    async def _reclaim(self, content: dict[str, Any]) -> dict[str, Any]:
        leg = await database_sync_to_async(services.reclaim_leg)(
            user=self.user, leg_id=content.get("leg_id"), channel_name=self.channel_name
        )
        reply = await self._reply("call.accepted", leg.call)  # loaded with the leg
        # The engine's answer again, in case it was on its way when the socket dropped.
        return {**reply, "sdp": leg.answer_sdp or None}

    def _destination(self, content: dict[str, Any]) -> str:
        destination = content.get("destination")
        if not isinstance(destination, str) or not destination.strip() or len(destination) > MAX_DESTINATION_LENGTH:
            raise CallError("invalid", "Enter a name, a number or an extension.")
        return destination

    async def _transfer(self, content: dict[str, Any]) -> dict[str, Any]:
        call = await database_sync_to_async(services.transfer_call)(
            user=self.user, call_id=content.get("call_id"), destination=self._destination(content)
        )
        return await self._reply("call.accepted", call)

    async def _transfer_voicemail(self, content: dict[str, Any]) -> dict[str, Any]:
        call = await database_sync_to_async(services.transfer_to_voicemail)(
            user=self.user, call_id=content.get("call_id"), destination=self._destination(content)
        )
        return await self._reply("call.accepted", call)

    async def _consult(self, content: dict[str, Any]) -> dict[str, Any]:
        call = await database_sync_to_async(services.start_consultation)(
            user=self.user,
            call_id=content.get("call_id"),
            destination=self._destination(content),
            channel_name=self.channel_name,
            sdp=content.get("sdp"),
        )
        return await self._reply("call.placed", call)

    async def _devices(self, content: dict[str, Any]) -> dict[str, Any]:
        devices = await database_sync_to_async(services.list_devices)(user=self.user, channel_name=self.channel_name)
        return {"type": "call.devices", "devices": devices}

    async def _switch(self, content: dict[str, Any]) -> dict[str, Any]:
        call = await database_sync_to_async(services.request_switch)(
            user=self.user, call_id=content.get("call_id"), connection_id=content.get("connection_id")
        )
        return await self._reply("call.accepted", call)

    async def _take(self, content: dict[str, Any]) -> dict[str, Any]:
        call = await database_sync_to_async(services.take_call)(
            user=self.user, call_id=content.get("call_id"), channel_name=self.channel_name, sdp=content.get("sdp")
        )
        return await self._reply("call.accepted", call)

    async def _add(self, content: dict[str, Any]) -> dict[str, Any]:
        invited = await database_sync_to_async(services.add_people)(
            user=self.user, call_id=content.get("call_id"), destination=self._destination(content)
        )
        call = await database_sync_to_async(services.describe_call_of)(user=self.user, call_id=content.get("call_id"))
        return {"type": "call.accepted", "call": call, "invited_call_id": str(invited.pk)}

    async def _conference_start(self, content: dict[str, Any]) -> dict[str, Any]:
        invitees = content.get("invitees") or []
        if not isinstance(invitees, list) or len(invitees) > 20 or not all(isinstance(item, str) for item in invitees):
            raise CallError("invalid", "Invitees are a list of at most 20 extensions.")
        call = await database_sync_to_async(services.start_conference)(
            user=self.user,
            room_id=content.get("room_id"),
            invitees=invitees,
            channel_name=self.channel_name,
            sdp=content.get("sdp"),
        )
        return await self._reply("call.placed", call)

    async def _conference_mute(self, content: dict[str, Any]) -> dict[str, Any]:
        await database_sync_to_async(services.mute_participant)(
            user=self.user,
            conference_id=content.get("conference_id"),
            leg_id=content.get("leg_id"),
            muted=content.get("muted") is True,
        )
        return {"type": "call.done"}

    async def _conference_remove(self, content: dict[str, Any]) -> dict[str, Any]:
        await database_sync_to_async(services.remove_participant)(
            user=self.user, conference_id=content.get("conference_id"), leg_id=content.get("leg_id")
        )
        return {"type": "call.done"}

    async def disconnected(self) -> None:
        await database_sync_to_async(services.detach_socket)(channel_name=self.channel_name)
