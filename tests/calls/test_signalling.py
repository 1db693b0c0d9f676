"""Call signalling on the event socket, including hostile clients: every refusal is an error
reply with the request's id and changes nothing."""

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from tests.calls.conftest import OFFER
from tests.sockets import TIMEOUT, Connect, connected, drain, signed_in_browser
from toc.accounts.models import User
from toc.calls import services
from toc.calls.models import Call, Leg
from toc.media.models import MediaWorker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def socket_of(user: User, open_socket: Connect) -> WebsocketCommunicator:
    socket = await open_socket(browser=await database_sync_to_async(signed_in_browser)(user))
    await connected(socket)
    await drain(socket)
    return socket


async def reply_to(socket: WebsocketCommunicator, message: dict[str, Any]) -> dict[str, Any]:
    """Send `message` and return the reply carrying its request_id (skipping events)."""
    await socket.send_json_to(message)
    while True:
        received = await socket.receive_json_from(timeout=TIMEOUT)
        if received.get("request_id") == message.get("request_id") and received["type"].startswith("call."):
            if received["type"] != "call.updated":
                return received


async def next_of_type(socket: WebsocketCommunicator, event_type: str) -> dict[str, Any]:
    while True:
        received = await socket.receive_json_from(timeout=TIMEOUT)
        if received["type"] == event_type:
            return received


async def count(model: Any) -> int:
    return await database_sync_to_async(model.objects.count)()


async def test_a_call_placed_on_one_socket_rings_the_callee_live(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]], open_socket: Connect
) -> None:
    # given
    alice_socket = await socket_of(alice, open_socket)
    bob_socket = await socket_of(bob, open_socket)

    # when
    reply = await reply_to(alice_socket, {"type": "call.place", "request_id": "r1", "destination": "102", "sdp": OFFER})

    # then
    assert (reply["type"], reply["request_id"], reply["call"]["state"], reply["call"]["direction"]) == (
        "call.placed",
        "r1",
        "ringing",
        "outgoing",
    )
    ringing = await next_of_type(bob_socket, "call.updated")
    assert (ringing["call"]["id"], ringing["call"]["direction"], ringing["call"]["state"]) == (
        reply["call"]["id"],
        "incoming",
        "ringing",
    )
    assert ringing["call"]["counterpart"] == {"name": "Alice Tester", "number": "101", "user_id": alice.pk}
    assert commands[0]["reply_channel"] == (await database_sync_to_async(Leg.objects.get)()).channel_name

    # and when bob answers on his socket, both hear about it
    answer = await reply_to(
        bob_socket, {"type": "call.answer", "request_id": "a1", "call_id": reply["call"]["id"], "sdp": OFFER}
    )
    assert (answer["type"], answer["call"]["state"]) == ("call.accepted", "answered")
    answered = await next_of_type(alice_socket, "call.updated")
    assert answered["call"]["state"] in ("ringing", "answered")


@pytest.mark.parametrize(
    ("message", "code", "error"),
    [
        ({"type": "call.place", "request_id": "x", "destination": "102", "sdp": "nonsense"}, "invalid", None),
        ({"type": "call.place", "request_id": "x", "destination": 102, "sdp": OFFER}, "invalid", None),
        ({"type": "call.place", "request_id": "x", "destination": "150", "sdp": OFFER}, "refused", None),
        ({"type": "call.answer", "request_id": "x", "call_id": "not-a-uuid", "sdp": OFFER}, "not_found", None),
        (
            {"type": "call.answer", "request_id": "x", "call_id": "6f1c7c64-0000-4000-8000-000000000000", "sdp": OFFER},
            "not_found",
            "That call does not exist or is not yours.",
        ),
        ({"type": "call.hangup", "request_id": "x", "call_id": None}, "not_found", None),
        ({"type": "call.decline", "request_id": "x", "call_id": {"$ne": 1}}, "not_found", None),
        ({"type": "call.ice", "request_id": "x", "leg_id": "abc", "candidate": None}, "not_found", None),
        ({"type": "call.reclaim", "request_id": "x", "leg_id": 5}, "not_found", None),
        ({"type": "call.teleport", "request_id": "x"}, "invalid", "Unknown message type “call.teleport”."),
    ],
)
async def test_malformed_and_unknown_messages_are_refused_and_change_nothing(
    alice: User,
    bob: User,
    worker: MediaWorker,
    commands: list[dict[str, Any]],
    open_socket: Connect,
    message: dict[str, Any],
    code: str,
    error: str | None,
) -> None:
    # given
    socket = await socket_of(alice, open_socket)

    # when
    reply = await reply_to(socket, message)

    # then
    assert (reply["type"], reply["request_id"], reply["code"]) == ("call.error", "x", code)
    if error is not None:
        assert reply["error"] == error
    assert await count(Call) == 0
    assert commands == []


async def test_a_bad_request_id_is_refused(alice: User, open_socket: Connect) -> None:
    socket = await socket_of(alice, open_socket)
    await socket.send_json_to({"type": "call.hangup", "request_id": ["a"], "call_id": "x"})
    assert await socket.receive_json_from(timeout=TIMEOUT) == {
        "type": "call.error",
        "request_id": None,
        "code": "invalid",
        "error": "A request_id is a string of at most 64 characters.",
    }


async def test_someone_elses_call_cannot_be_touched(
    alice: User, bob: User, carol: User, worker: MediaWorker, commands: list[dict[str, Any]], open_socket: Connect
) -> None:
    # given a ringing call from alice to bob
    alice_socket = await socket_of(alice, open_socket)
    await socket_of(bob, open_socket)
    placed = await reply_to(alice_socket, {"type": "call.place", "request_id": "p", "destination": "102", "sdp": OFFER})
    call_id = placed["call"]["id"]
    carol_socket = await socket_of(carol, open_socket)

    # when carol (another organisation) tries everything on it
    replies = [
        await reply_to(
            carol_socket, {"type": kind, "request_id": kind, "call_id": call_id, "sdp": OFFER, "digits": "1"}
        )
        for kind in ("call.answer", "call.decline", "call.hangup", "call.dtmf")
    ]

    # then
    assert [(reply["type"], reply["code"]) for reply in replies] == [("call.error", "not_found")] * 4
    call = await database_sync_to_async(Call.objects.get)(pk=call_id)
    assert call.state == "ringing"


async def test_messages_out_of_order_are_conflicts(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]], open_socket: Connect
) -> None:
    # given
    alice_socket = await socket_of(alice, open_socket)
    bob_socket = await socket_of(bob, open_socket)
    placed = await reply_to(alice_socket, {"type": "call.place", "request_id": "p", "destination": "102", "sdp": OFFER})
    call_id = placed["call"]["id"]

    # when: keypad before the answer, then an answer after a decline
    early_dtmf = await reply_to(
        alice_socket, {"type": "call.dtmf", "request_id": "d", "call_id": call_id, "digits": "5"}
    )
    await reply_to(bob_socket, {"type": "call.decline", "request_id": "n", "call_id": call_id})
    late_answer = await reply_to(
        bob_socket, {"type": "call.answer", "request_id": "a", "call_id": call_id, "sdp": OFFER}
    )

    # then
    assert (early_dtmf["code"], early_dtmf["error"]) == (
        "conflict",
        "Keypad tones can be sent only during an answered call.",
    )
    # (declined, it went to voicemail: bob is no longer on it)
    assert (late_answer["code"], late_answer["error"]) == ("not_found", "That call does not exist or is not yours.")
    call = await database_sync_to_async(Call.objects.get)(pk=call_id)
    assert (call.state, call.callee_id) == ("answered", None)
    assert await database_sync_to_async(Leg.objects.filter(party="callee").count)() == 0


async def test_a_flood_of_offers_is_limited(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]], open_socket: Connect, settings: Any
) -> None:
    # given
    settings.CALL_SIGNALLING_BURST = 5
    settings.CALL_SIGNALLING_RATE = 1
    alice_socket = await socket_of(alice, open_socket)
    await socket_of(bob, open_socket)

    # when
    replies = [
        await reply_to(alice_socket, {"type": "call.place", "request_id": f"f{i}", "destination": "102", "sdp": OFFER})
        for i in range(8)
    ]

    # then: two calls (the most a user holds), then refusals, then the rate limit
    assert [reply.get("code", reply["type"]) for reply in replies] == [
        "call.placed",
        "call.placed",
        "conflict",
        "conflict",
        "conflict",
        "rate_limited",
        "rate_limited",
        "rate_limited",
    ]
    assert await count(Call) == 2


async def test_a_closed_socket_detaches_its_legs(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]], open_socket: Connect
) -> None:
    # given
    alice_socket = await socket_of(alice, open_socket)
    await socket_of(bob, open_socket)
    await reply_to(alice_socket, {"type": "call.place", "request_id": "p", "destination": "102", "sdp": OFFER})

    # when
    await alice_socket.disconnect(timeout=TIMEOUT)

    # then
    leg = await database_sync_to_async(Leg.objects.get)()
    assert leg.detached_at is not None
    assert leg.state == "new"


async def test_a_reconnected_socket_reclaims_its_leg_and_gets_the_engines_answer_again(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]], open_socket: Connect
) -> None:
    # given alice placed a call and the engine answered, but her socket dropped on the way
    first_socket = await socket_of(alice, open_socket)
    await socket_of(bob, open_socket)
    placed = await reply_to(first_socket, {"type": "call.place", "request_id": "p", "destination": "102", "sdp": OFFER})
    leg_id = placed["call"]["leg_id"]
    await database_sync_to_async(services.leg_answered)(leg_id=leg_id, sdp="v=0 the engine's answer")
    await first_socket.disconnect(timeout=TIMEOUT)

    # when she reconnects and reclaims the leg
    second_socket = await socket_of(alice, open_socket)
    reply = await reply_to(second_socket, {"type": "call.reclaim", "request_id": "r", "leg_id": leg_id})

    # then the leg is hers on the new socket, and the answer comes again
    assert (reply["type"], reply["call"]["id"], reply["sdp"]) == (
        "call.accepted",
        placed["call"]["id"],
        "v=0 the engine's answer",
    )
    leg = await database_sync_to_async(Leg.objects.get)(pk=leg_id)
    assert leg.detached_at is None
    assert leg.channel_name != commands[0]["reply_channel"]
