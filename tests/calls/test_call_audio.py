"""A whole call through the stack with real audio: two aiortc clients acting as softphones signal
on the event socket, a media worker (in this process, on the same channel layer) hosts the
legs, and each side hears the other's tone, checked by FFT at the far end."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.core.files import File

from tests.audio import LISTEN_SECONDS, Client, peaks, rms_dbfs, tone_dbfs, write_wav
from tests.sockets import TIMEOUT, Connect, connected, drain, signed_in_browser
from toc.accounts.models import User
from toc.calls.management.commands.media_worker import HOOKS
from toc.calls.models import Call, CallRecord, Leg
from toc.media.models import MediaWorker
from toc.media.tracks import load_audio_file
from toc.media.worker import MediaWorkerProcess
from toc.presence.models import Connection
from toc.voicemail import services as mailboxes
from toc.voicemail.models import VoicemailMessage

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio,
    pytest.mark.timeout(90),
    pytest.mark.usefixtures("loopback_only"),
]

ALICE_HZ = 700.0
BOB_HZ = 1000.0


@pytest_asyncio.fixture
async def media_worker(own_channel_layer: None) -> AsyncIterator[MediaWorkerProcess]:
    stop = asyncio.Event()
    worker = MediaWorkerProcess(
        hooks=HOOKS,
        capacity=4,
    )
    task = asyncio.create_task(worker.run(stop))
    for _ in range(100):
        if await database_sync_to_async(MediaWorker.objects.exists)():
            break
        await asyncio.sleep(0.05)
    yield worker
    stop.set()
    await asyncio.wait_for(task, 15)


async def socket_of(user: User, open_socket: Connect) -> WebsocketCommunicator:
    socket = await open_socket(browser=await database_sync_to_async(signed_in_browser)(user))
    await connected(socket)
    await drain(socket)
    return socket


async def next_of_type(socket: WebsocketCommunicator, event_type: str, **fields: Any) -> dict[str, Any]:
    while True:
        received = await socket.receive_json_from(timeout=TIMEOUT)
        if received["type"] == event_type and all(received.get(k) == v for k, v in fields.items()):
            return received


async def next_call_state(socket: WebsocketCommunicator, state: str) -> dict[str, Any]:
    while True:
        received = await next_of_type(socket, "call.updated")
        if received["call"]["state"] == state:
            return received["call"]


async def engine_stats(worker: MediaWorkerProcess, leg_ids: list[str]) -> dict[str, Any]:
    layer = get_channel_layer()
    reply_channel = await layer.new_channel()
    await layer.send(worker.channel_name, {"type": "media.stats", "leg_ids": leg_ids, "reply_channel": reply_channel})
    reply = await asyncio.wait_for(layer.receive(reply_channel), TIMEOUT)
    return dict(reply["stats"])


async def test_two_softphones_hear_each_other_through_the_engine(
    alice: User, bob: User, media_worker: MediaWorkerProcess, open_socket: Connect
) -> None:
    # given: alice and bob are signed in; alice sends a 700 Hz tone, bob 1000 Hz
    alice_socket = await socket_of(alice, open_socket)
    bob_socket = await socket_of(bob, open_socket)
    alice_phone, bob_phone = Client(ALICE_HZ), Client(BOB_HZ)
    try:
        # when alice dials 102
        await alice_socket.send_json_to(
            {"type": "call.place", "request_id": "p", "destination": "102", "sdp": await alice_phone.offer()}
        )
        placed = await next_of_type(alice_socket, "call.placed")
        call_id = placed["call"]["id"]
        answer = await next_of_type(alice_socket, "call.sdp", call_id=call_id)
        assert answer["leg_id"] == placed["call"]["leg_id"]
        await alice_phone.accept(answer["sdp"])
        await asyncio.wait_for(alice_phone.connected.wait(), TIMEOUT)

        # then bob's session rings and alice hears ringback (440 + 480 Hz), not bob
        ringing = await next_call_state(bob_socket, "ringing")
        assert ringing["id"] == call_id
        ringback = await alice_phone.listen(0.6)
        assert peaks(ringback, 2) == [pytest.approx(440, abs=10), pytest.approx(480, abs=10)]

        # when bob answers
        await bob_socket.send_json_to(
            {"type": "call.answer", "request_id": "a", "call_id": call_id, "sdp": await bob_phone.offer()}
        )
        bob_answer = await next_of_type(bob_socket, "call.sdp", call_id=call_id)
        await bob_phone.accept(bob_answer["sdp"])
        await asyncio.wait_for(bob_phone.connected.wait(), TIMEOUT)
        assert (await next_call_state(alice_socket, "answered"))["id"] == call_id
        await asyncio.sleep(0.5)
        alice_heard, bob_heard = await asyncio.gather(alice_phone.listen(), bob_phone.listen())

        # then each hears the other's tone, loud, and not their own or the ringback
        assert peaks(alice_heard, 1) == [pytest.approx(BOB_HZ, abs=10)]
        assert peaks(bob_heard, 1) == [pytest.approx(ALICE_HZ, abs=10)]
        assert rms_dbfs(alice_heard) > -30 and rms_dbfs(bob_heard) > -30
        assert tone_dbfs(alice_heard, ALICE_HZ) < -60
        assert tone_dbfs(alice_heard, 480) < -60
        # and the engine hears both
        legs = {
            leg.party: str(leg.pk) for leg in await database_sync_to_async(list)(Leg.objects.filter(call_id=call_id))
        }
        stats = await engine_stats(media_worker, [legs["caller"], legs["callee"]])
        assert stats[legs["caller"]]["peak_hz"] == pytest.approx(ALICE_HZ, abs=10)
        assert stats[legs["callee"]]["peak_hz"] == pytest.approx(BOB_HZ, abs=10)
        assert {leg.state for leg in await database_sync_to_async(list)(Leg.objects.filter(call_id=call_id))} == {
            "connected"
        }

        # when alice presses 5 on the keypad, bob hears its DTMF pair
        await alice_socket.send_json_to({"type": "call.dtmf", "request_id": "d", "call_id": call_id, "digits": "5"})
        await next_of_type(alice_socket, "call.accepted", request_id="d")
        dtmf = await bob_phone.listen(0.15)
        assert tone_dbfs(dtmf, 770) > -40 and tone_dbfs(dtmf, 1336) > -40

        # when bob hangs up
        await bob_socket.send_json_to({"type": "call.hangup", "request_id": "h", "call_id": call_id})

        # then both see it completed, the engine let go of both legs, and both histories hold it
        ended = await next_call_state(alice_socket, "ended")
        assert (ended["end_reason"], ended["end_message"]) == ("completed", "Call ended.")
        for _ in range(100):
            if media_worker.engine.leg_count == 0:
                break
            await asyncio.sleep(0.05)
        assert media_worker.engine.leg_count == 0
        records = await database_sync_to_async(list)(CallRecord.objects.order_by("owner_id"))
        assert [(record.owner_id, record.direction, record.outcome) for record in records] == [
            (alice.pk, "outgoing", "completed"),
            (bob.pk, "incoming", "completed"),
        ]
    finally:
        await alice_phone.close()
        await bob_phone.close()


async def test_a_stopping_worker_ends_its_calls_and_says_why(
    alice: User, bob: User, own_channel_layer: None, open_socket: Connect
) -> None:
    # given a call ringing on a worker
    stop = asyncio.Event()
    worker = MediaWorkerProcess(
        hooks=HOOKS,
        capacity=4,
    )
    task = asyncio.create_task(worker.run(stop))
    while not await database_sync_to_async(MediaWorker.objects.exists)():
        await asyncio.sleep(0.05)
    alice_socket = await socket_of(alice, open_socket)
    await socket_of(bob, open_socket)
    phone = Client(ALICE_HZ)
    try:
        await alice_socket.send_json_to(
            {"type": "call.place", "request_id": "p", "destination": "102", "sdp": await phone.offer()}
        )
        call_id = (await next_of_type(alice_socket, "call.placed"))["call"]["id"]

        # when the worker is stopped (a deploy, SIGTERM)
        stop.set()
        await asyncio.wait_for(task, 15)

        # then the call ended as failed with the reason, and the worker is gone
        ended = await next_call_state(alice_socket, "ended")
        assert (ended["end_reason"], ended["end_message"]) == (
            "failed",
            "The media server restarted, so the call ended.",
        )
        call = await database_sync_to_async(Call.objects.get)(pk=call_id)
        assert call.state == "ended"
        assert not await database_sync_to_async(MediaWorker.objects.exists)()
        assert await database_sync_to_async(Connection.objects.filter(user=bob).exists)()
    finally:
        await phone.close()
    await asyncio.sleep(LISTEN_SECONDS / 10)


async def test_a_declined_call_leaves_a_message_that_holds_the_callers_tone(
    alice: User, bob: User, media_worker: MediaWorkerProcess, open_socket: Connect, tmp_path: Path
) -> None:
    # given bob recorded a short 500 Hz Unavailable greeting; alice's phone sends 700 Hz
    greeting = write_wav(tmp_path / "greeting.wav", hz=500, seconds=1.5)
    await database_sync_to_async(save_greeting)(bob, greeting)
    alice_socket = await socket_of(alice, open_socket)
    bob_socket = await socket_of(bob, open_socket)
    alice_phone = Client(ALICE_HZ)
    try:
        await alice_socket.send_json_to(
            {"type": "call.place", "request_id": "p", "destination": "102", "sdp": await alice_phone.offer()}
        )
        placed = await next_of_type(alice_socket, "call.placed")
        call_id = placed["call"]["id"]
        await alice_phone.accept((await next_of_type(alice_socket, "call.sdp", call_id=call_id))["sdp"])
        await asyncio.wait_for(alice_phone.connected.wait(), TIMEOUT)
        await next_call_state(bob_socket, "ringing")

        # when bob declines
        await bob_socket.send_json_to({"type": "call.decline", "request_id": "n", "call_id": call_id})

        # then alice's call is answered by the mailbox: she hears the greeting, then the beep
        in_voicemail = await next_call_state(alice_socket, "answered")
        assert (in_voicemail["voicemail"], in_voicemail["counterpart"]["name"]) == ("deposit", "Bob Tester")
        assert (await next_call_state(bob_socket, "ended"))["end_message"] == "Sent to voicemail."
        assert peaks(await alice_phone.listen(0.6), 1) == [pytest.approx(500, abs=10)]
        await until_heard(alice_phone, 1000)

        # when she speaks (her tone) for two seconds, then presses #
        await asyncio.sleep(2.0)
        await alice_socket.send_json_to({"type": "call.dtmf", "request_id": "d", "call_id": call_id, "digits": "#"})

        # then she hears the goodbye prompt and the mailbox hangs up
        ended = await next_call_state(alice_socket, "ended")
        assert ended["end_reason"] == "completed"
        message = await database_sync_to_async(VoicemailMessage.objects.select_related("mailbox").get)()
        assert (message.mailbox.user_id, message.caller_name, message.folder) == (bob.pk, "Alice Tester", "new")
        assert 1.5 <= message.duration_seconds <= 4.0
        stored = await database_sync_to_async(load_audio_file)(Path(message.audio.path))
        assert peaks(stored.astype(np.float64), 1) == [pytest.approx(ALICE_HZ, abs=10)]
        assert tone_dbfs(stored.astype(np.float64), 500) < -40  # the greeting is not in the message
    finally:
        await alice_phone.close()


def save_greeting(user: User, path: Path) -> None:
    mailbox = mailboxes.get_mailbox(user=user)
    with path.open("rb") as audio:
        mailbox.unavailable_greeting.save("greeting.wav", File(audio))


async def until_heard(phone: Client, hz: float, seconds: float = 15.0) -> None:
    """Listen in short slices until `hz` is the loudest thing heard (bounded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if peaks(await phone.listen(0.2), 1) == [pytest.approx(hz, abs=10)]:
            return
    raise AssertionError(f"{hz} Hz was not heard within {seconds} s")


async def test_a_message_being_left_when_the_worker_stops_is_kept(
    alice: User, bob: User, own_channel_layer: None, open_socket: Connect
) -> None:
    # given alice is leaving bob (not signed in) a message, speaking her tone
    stop = asyncio.Event()
    worker = MediaWorkerProcess(hooks=HOOKS, capacity=4)
    task = asyncio.create_task(worker.run(stop))
    while not await database_sync_to_async(MediaWorker.objects.exists)():
        await asyncio.sleep(0.05)
    alice_socket = await socket_of(alice, open_socket)
    phone = Client(ALICE_HZ)
    try:
        await alice_socket.send_json_to(
            {"type": "call.place", "request_id": "p", "destination": "102", "sdp": await phone.offer()}
        )
        call_id = (await next_of_type(alice_socket, "call.placed"))["call"]["id"]
        await phone.accept((await next_of_type(alice_socket, "call.sdp", call_id=call_id))["sdp"])
        await asyncio.wait_for(phone.connected.wait(), TIMEOUT)
        await until_heard(phone, 1000)  # the beep after the default greeting
        await asyncio.sleep(2.0)

        # when the worker is stopped (a deploy, SIGTERM)
        stop.set()
        await asyncio.wait_for(task, 20)

        # then the call ended, and what she said is in bob's mailbox
        assert (await next_call_state(alice_socket, "ended"))["end_reason"] == "failed"
        message = await database_sync_to_async(VoicemailMessage.objects.select_related("mailbox").get)()
        assert (message.mailbox.user_id, message.caller_name) == (bob.pk, "Alice Tester")
        stored = await database_sync_to_async(load_audio_file)(Path(message.audio.path))
        assert peaks(stored.astype(np.float64), 1) == [pytest.approx(ALICE_HZ, abs=10)]
    finally:
        await phone.close()


async def test_a_message_stops_at_the_longest_length_and_the_mailbox_hangs_up(
    alice: User, bob: User, media_worker: MediaWorkerProcess, open_socket: Connect, tmp_path: Path, settings: Any
) -> None:
    # given messages are at most 2 s, and bob (not signed in) has a short greeting
    settings.VOICEMAIL_MAX_MESSAGE_SECONDS = 2
    await database_sync_to_async(save_greeting)(bob, write_wav(tmp_path / "g.wav", hz=500, seconds=1.0))
    alice_socket = await socket_of(alice, open_socket)
    phone = Client(ALICE_HZ)
    try:
        # when alice calls and just keeps talking
        await alice_socket.send_json_to(
            {"type": "call.place", "request_id": "p", "destination": "102", "sdp": await phone.offer()}
        )
        call_id = (await next_of_type(alice_socket, "call.placed"))["call"]["id"]
        await phone.accept((await next_of_type(alice_socket, "call.sdp", call_id=call_id))["sdp"])
        await asyncio.wait_for(phone.connected.wait(), TIMEOUT)
        await until_heard(phone, 1000)

        # then after 2 s of recording the message is kept, she hears the goodbye prompt, and the
        # call ends by itself
        for _ in range(100):
            if await database_sync_to_async(VoicemailMessage.objects.exists)():
                break
            await asyncio.sleep(0.1)
        message = await database_sync_to_async(VoicemailMessage.objects.get)()
        assert 1.5 <= message.duration_seconds <= 2.1
        goodbye = await phone.listen(1.0)
        assert rms_dbfs(goodbye) > -40
        ended = await next_call_state(alice_socket, "ended")
        assert ended["end_reason"] == "completed"
    finally:
        await phone.close()
