"""The media engine with aiortc clients acting as browsers: real audio, checked by frequency and level.

Each client sends a known tone (or silence) and analyses what it decodes (FFT peak ±10 Hz,
level in dBFS). Media only ever goes to 127.0.0.1: both sides gather loopback host candidates
only, the engine allows 127.0.0.0/8, and a guard fails any test in which ICE is handed a remote
candidate outside loopback (before a single packet could be sent to it).
"""

import asyncio
import fractions
import random
import time
import wave
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
import pytest_asyncio
from aiortc import RTCConfiguration, RTCPeerConnection

from tests.audio import RATE, WAIT_SECONDS, Client, SineTrack, loudest_block_dbfs, peaks, rms_dbfs, tone_dbfs
from toc.media.engine import (
    RINGBACK,
    MediaEngine,
    MediaError,
    Tone,
)
from toc.media.tracks import FRAME_SAMPLES, MixMinus

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60), pytest.mark.usefixtures("loopback_only")]

SETTLE_SECONDS = 0.4
LOOPBACK = ["127.0.0.0/8"]
OUTSIDE_CANDIDATE = "candidate:9 1 udp 2122260223 192.0.2.7 50000 typ host"
MDNS_CANDIDATE = "candidate:8 1 udp 2122260223 0b5a9e3c-1111-2222-3333-444455556666.local 50001 typ host"


class Media:
    """An engine, the events it reported, and the clients connected to it."""

    def __init__(self, **options: Any) -> None:
        self.events: list[tuple[str, str, str]] = []
        self.engine = MediaEngine(allowed_networks=LOOPBACK, on_leg_event=self.record_event, **options)
        self.clients: list[Client] = []

    async def record_event(self, leg_id: str, kind: str, detail: str) -> None:
        self.events.append((leg_id, kind, detail))

    def events_of(self, leg_id: str) -> list[tuple[str, str]]:
        return [(kind, detail) for leg, kind, detail in self.events if leg == leg_id]

    async def wait_for_event(self, leg_id: str, kind: str) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while not any(k == kind for k, _ in self.events_of(leg_id)):
            assert time.monotonic() < deadline, f"leg {leg_id} never reported {kind}: {self.events_of(leg_id)}"
            await asyncio.sleep(0.02)

    def client(self, frequency: float | None, *, level_dbfs: float | None = None, **options: Any) -> Client:
        client = Client(frequency, **options)
        if level_dbfs is not None:
            client.pc.getTransceivers()[0].sender.replaceTrack(SineTrack(frequency, level_dbfs))
        self.clients.append(client)
        return client

    async def connect(self, leg_id: str, frequency: float | None, **options: Any) -> Client:
        client = self.client(frequency, **options)
        answer = await self.engine.create_leg(leg_id, await client.offer())
        await client.accept(answer)
        await asyncio.wait_for(client.connected.wait(), WAIT_SECONDS)
        await self.wait_for_event(leg_id, "connected")
        return client

    async def close(self) -> None:
        for client in self.clients:
            await client.close()
        await asyncio.wait_for(self.engine.close(), WAIT_SECONDS)


@pytest_asyncio.fixture
async def make_media() -> AsyncIterator[Callable[..., Media]]:
    made: list[Media] = []

    def make(**options: Any) -> Media:
        made.append(Media(**options))
        return made[-1]

    yield make
    for media in made:
        await media.close()


@pytest.fixture
def media(make_media: Callable[..., Media]) -> Media:
    return make_media()


async def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.02)


def candidate_addresses(sdp: str) -> list[str]:
    return [line.split()[4] for line in sdp.splitlines() if line.startswith("a=candidate:")]


def with_candidates(offer: str, *candidates: str) -> str:
    """The offer with extra candidate lines after its first one."""
    lines = offer.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("a=candidate:"))
    return "\r\n".join([*lines[: first + 1], *(f"a={c}" for c in candidates), *lines[first + 1 :]]) + "\r\n"


def without_end_of_candidates(offer: str) -> str:
    return "\r\n".join(line for line in offer.splitlines() if line != "a=end-of-candidates") + "\r\n"


def without_candidates(offer: str) -> str:
    return "\r\n".join(line for line in offer.splitlines() if not line.startswith("a=candidate:")) + "\r\n"


# 1. Two legs bridged


@pytest.mark.parametrize("codec", ["opus", "PCMU"])
async def test_two_bridged_legs_hear_each_other(media: Media, codec: str) -> None:
    # given
    alice = await media.connect("a", 440.0, codec=codec)
    bob = await media.connect("b", 1000.0, codec=codec)

    # when
    await media.engine.bridge("call-1", ["a", "b"])
    await asyncio.sleep(SETTLE_SECONDS)
    alice_heard, bob_heard = await asyncio.gather(alice.listen(), bob.listen())

    # then
    assert peaks(alice_heard, 1)[0] == pytest.approx(1000.0, abs=10)
    assert rms_dbfs(alice_heard) > -30
    assert peaks(bob_heard, 1)[0] == pytest.approx(440.0, abs=10)
    assert rms_dbfs(bob_heard) > -30
    for leg_id, sent in (("a", 440.0), ("b", 1000.0)):
        stats = media.engine.stats(leg_id)
        assert stats.peak_hz == pytest.approx(sent, abs=10)
        assert stats.rms_dbfs > -30
        assert (stats.leg_id, stats.connection_state, stats.codec) == (leg_id, "connected", codec)
        assert stats.frames_received >= 50
        assert stats.frames_sent >= 50


# 2. Playback into a leg that is not bridged


async def test_a_leg_alone_hears_silence_then_ringback_then_silence(media: Media) -> None:
    # given
    client = await media.connect("a", 440.0)
    await asyncio.sleep(SETTLE_SECONDS)
    before = await client.listen()

    # when
    await media.engine.play("a", RINGBACK, loop=True)
    await asyncio.sleep(0.2)
    during = await client.listen()
    await media.engine.stop_play("a")
    await asyncio.sleep(SETTLE_SECONDS)
    after = await client.listen()

    # then
    assert rms_dbfs(before) < -60
    assert peaks(during, 2) == [pytest.approx(440.0, abs=10), pytest.approx(480.0, abs=10)]
    assert rms_dbfs(during) > -30
    assert rms_dbfs(after) < -60


def write_prompt(path: Path, hz: float, rate: int, seconds: float = 3.0) -> None:
    """`seconds` of `hz` at `rate`, in the container and codec the file name says (wav or ogg)."""
    t = np.arange(int(rate * seconds)) / rate
    samples = (np.sin(2 * np.pi * hz * t) * 8000).astype(np.int16)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le" if path.suffix == ".wav" else "libopus", rate=rate, layout="mono")
        for start in range(0, samples.size, 960):
            frame = av.AudioFrame.from_ndarray(samples[start : start + 960].reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            frame.time_base = fractions.Fraction(1, rate)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


@pytest.mark.parametrize(("name", "rate"), [("prompt.wav", 16_000), ("prompt.ogg", 48_000)])
async def test_an_audio_file_plays_into_a_leg(media: Media, tmp_path: Path, name: str, rate: int) -> None:
    # given
    path = tmp_path / name
    write_prompt(path, 1200.0, rate)
    client = await media.connect("a", None)

    # when
    await media.engine.play("a", path)
    await asyncio.sleep(0.2)
    heard = await client.listen()

    # then
    assert peaks(heard, 1)[0] == pytest.approx(1200.0, abs=10)
    assert rms_dbfs(heard) > -30


async def test_a_file_that_cannot_be_read_is_refused(media: Media, tmp_path: Path) -> None:
    await media.connect("a", None)
    (tmp_path / "notes.wav").write_text("not audio")
    for path in (tmp_path / "missing.wav", tmp_path / "notes.wav"):
        with pytest.raises(MediaError, match="cannot be played"):
            await media.engine.play("a", path)


def loud_blocks(samples: np.ndarray, hz: float, seconds: float = 0.1) -> list[int]:
    """The indexes of the `seconds`-long blocks in which `hz` is louder than -30 dBFS."""
    size = int(RATE * seconds)
    return [i for i in range(samples.size // size) if tone_dbfs(samples[i * size : (i + 1) * size], hz) > -30]


async def test_a_list_of_sounds_plays_in_order_then_reports_it_played(media: Media, tmp_path: Path) -> None:
    # given
    path = tmp_path / "prompt.wav"
    write_prompt(path, 1200.0, 16_000, seconds=0.6)
    client = await media.connect("a", None)
    await asyncio.sleep(SETTLE_SECONDS)
    start = len(client.heard)

    # when
    began = time.monotonic()
    played = await media.engine.play("a", [Tone((700.0,), 600, 0), path])
    finished = await asyncio.wait_for(played, WAIT_SECONDS)
    took = time.monotonic() - began
    await asyncio.sleep(0.3)  # the last frames are still on their way
    heard = np.concatenate(client.heard[start:])
    after = await client.listen(0.5)

    # then
    assert finished is True
    assert 1.05 < took < 1.6  # 1.2 s of sound, sent in real time
    assert peaks(heard, 2) == [pytest.approx(700.0, abs=10), pytest.approx(1200.0, abs=10)]
    first, second = loud_blocks(heard, 700.0), loud_blocks(heard, 1200.0)
    assert len(first) >= 5 and len(second) >= 5
    assert max(first) <= min(second)
    assert rms_dbfs(after) < -60


async def test_a_looping_list_repeats_until_stopped(media: Media) -> None:
    # given
    client = await media.connect("a", None)

    # when
    played = await media.engine.play("a", [Tone((700.0,), 300, 0), Tone((1300.0,), 300, 0)], loop=True)
    await asyncio.sleep(1.5)  # the list lasts 0.6 s
    during = await client.listen()
    is_done_while_playing = played.done()
    await media.engine.stop_play("a")
    finished = await asyncio.wait_for(played, WAIT_SECONDS)
    await asyncio.sleep(SETTLE_SECONDS)
    after = await client.listen()

    # then
    assert is_done_while_playing is False
    assert finished is False
    assert peaks(during, 2) == [pytest.approx(700.0, abs=10), pytest.approx(1300.0, abs=10)]
    assert len(loud_blocks(during, 700.0)) >= 3 and len(loud_blocks(during, 1300.0)) >= 3
    assert rms_dbfs(after) < -60


async def test_a_replaced_playback_and_one_whose_leg_ends_report_not_played(media: Media) -> None:
    # given
    client = await media.connect("a", None)
    first = await media.engine.play("a", Tone((700.0,), 5000, 0))

    # when
    second = await media.engine.play("a", Tone((1300.0,), 5000, 0))
    await asyncio.sleep(SETTLE_SECONDS)
    heard = await client.listen()

    # then
    assert first.done() and first.result() is False
    assert peaks(heard, 1)[0] == pytest.approx(1300.0, abs=10)
    assert tone_dbfs(heard, 700.0) < tone_dbfs(heard, 1300.0) - 40
    assert not second.done()

    # when
    await media.engine.hangup("a")

    # then
    assert second.done() and second.result() is False


async def test_a_list_with_a_sound_that_cannot_be_played_changes_nothing(media: Media, tmp_path: Path) -> None:
    # given
    client = await media.connect("a", None)
    playing = await media.engine.play("a", Tone((700.0,), 1000, 0), loop=True)

    # when / then
    with pytest.raises(MediaError, match="cannot be played"):
        await media.engine.play("a", [Tone((1300.0,), 300, 0), tmp_path / "missing.wav"])
    with pytest.raises(MediaError, match="nothing to play"):
        await media.engine.play("a", [])
    await asyncio.sleep(SETTLE_SECONDS)
    heard = await client.listen()
    assert not playing.done()
    assert peaks(heard, 1)[0] == pytest.approx(700.0, abs=10)
    assert tone_dbfs(heard, 1300.0) < tone_dbfs(heard, 700.0) - 40


# 3. A bridge of three


async def test_each_of_three_legs_hears_the_other_two_but_not_itself(media: Media) -> None:
    # given
    tones = {"a": 440.0, "b": 1000.0, "c": 1600.0}
    clients = {leg_id: await media.connect(leg_id, hz) for leg_id, hz in tones.items()}

    # when
    await media.engine.bridge("conference", list(tones))
    await asyncio.sleep(SETTLE_SECONDS)
    heard = dict(zip(clients, await asyncio.gather(*(c.listen() for c in clients.values())), strict=True))

    # then
    for leg_id, own in tones.items():
        others = sorted(hz for other, hz in tones.items() if other != leg_id)
        assert peaks(heard[leg_id], 2) == [pytest.approx(hz, abs=10) for hz in others], leg_id
        assert rms_dbfs(heard[leg_id]) > -30
        weakest_other = min(tone_dbfs(heard[leg_id], hz) for hz in others)
        assert tone_dbfs(heard[leg_id], own) < weakest_other - 40, leg_id


async def test_a_leg_moved_to_another_bridge_stops_hearing_the_first(media: Media) -> None:
    # given
    alice = await media.connect("a", 440.0)
    await media.connect("b", 1000.0)
    await media.connect("c", 1600.0)
    await media.engine.bridge("first", ["a", "b"])

    # when
    await media.engine.bridge("second", ["a", "c"])
    await asyncio.sleep(SETTLE_SECONDS)
    heard = await alice.listen()

    # then
    assert peaks(heard, 1)[0] == pytest.approx(1600.0, abs=10)
    assert tone_dbfs(heard, 1000.0) < tone_dbfs(heard, 1600.0) - 40


async def test_each_of_six_legs_hears_the_other_five_and_one_that_leaves_is_heard_no_more(media: Media) -> None:
    # given: tones that are not whole periods per 20 ms, so that a leg's own audio taken from the
    # wrong frame would not cancel; quiet enough that five of them summed do not clip
    tones = {"a": 440.0, "b": 730.0, "c": 1010.0, "d": 1330.0, "e": 1570.0, "f": 1870.0}
    clients = {leg_id: await media.connect(leg_id, hz, level_dbfs=-24) for leg_id, hz in tones.items()}

    # when
    await media.engine.bridge("conference", list(tones))
    await asyncio.sleep(SETTLE_SECONDS)
    heard = dict(zip(clients, await asyncio.gather(*(c.listen() for c in clients.values())), strict=True))

    # then
    for leg_id, own in tones.items():
        others = sorted(hz for other, hz in tones.items() if other != leg_id)
        assert peaks(heard[leg_id], 5) == [pytest.approx(hz, abs=10) for hz in others], leg_id
        weakest_other = min(tone_dbfs(heard[leg_id], hz) for hz in others)
        assert weakest_other > -40, leg_id
        assert tone_dbfs(heard[leg_id], own) < weakest_other - 20, leg_id  # an echo: about 0

    # when
    await media.engine.unbridge("f")
    await asyncio.sleep(SETTLE_SECONDS)
    alice_heard, frank_heard = await asyncio.gather(clients["a"].listen(), clients["f"].listen())

    # then
    assert peaks(alice_heard, 4) == [pytest.approx(hz, abs=10) for hz in (730.0, 1010.0, 1330.0, 1570.0)]
    assert tone_dbfs(alice_heard, 1870.0) < tone_dbfs(alice_heard, 730.0) - 40
    assert rms_dbfs(frank_heard) < -60


async def test_a_bridge_whose_outputs_run_late_in_bursts_still_mixes_everyone_into_every_frame() -> None:
    # given: 20 members, member i always saying i + 1; under load an output asks for nothing for
    # a while, then for every frame it owes at once (at most 5: after 100 ms it skips ahead)
    mixer = MixMinus()
    members = [f"m{i}" for i in range(20)]
    for member in members:
        mixer.add(member)
    everyone = sum(range(1, 21))
    chance = random.Random(7)
    owed = dict.fromkeys(members, 0)
    heard: list[tuple[int, np.ndarray]] = []

    # when: 10 s of 20 ms ticks
    for tick in range(500):
        for i, member in enumerate(members):
            mixer.put(member, np.full(FRAME_SAMPLES, i + 1, dtype=np.int16))
        for i, member in enumerate(members):
            owed[member] = min(owed[member] + 1, 5)
            if chance.random() < 0.3:
                continue
            while owed[member]:
                owed[member] -= 1
                if tick >= 50:
                    heard.append((i, mixer.heard(member)))
                else:
                    mixer.heard(member)

    # then: every frame holds all the others, none a gap of silence
    assert len(heard) > 8000
    assert [i for i, frame in heard if not np.all(frame == everyone - (i + 1))] == []


async def test_a_muted_leg_is_heard_by_nobody_yet_hears_the_others_and_is_metered(media: Media) -> None:
    # given
    tones = {"a": 440.0, "b": 1000.0, "c": 1600.0}
    clients = {leg_id: await media.connect(leg_id, hz) for leg_id, hz in tones.items()}
    await media.engine.bridge("conference", list(tones))

    # when
    await media.engine.set_muted("b", True)
    await asyncio.sleep(SETTLE_SECONDS)
    heard = dict(zip(clients, await asyncio.gather(*(c.listen() for c in clients.values())), strict=True))

    # then
    assert peaks(heard["a"], 1)[0] == pytest.approx(1600.0, abs=10)
    assert tone_dbfs(heard["a"], 1000.0) < tone_dbfs(heard["a"], 1600.0) - 40
    assert peaks(heard["c"], 1)[0] == pytest.approx(440.0, abs=10)
    assert tone_dbfs(heard["c"], 1000.0) < tone_dbfs(heard["c"], 440.0) - 40
    assert peaks(heard["b"], 2) == [pytest.approx(440.0, abs=10), pytest.approx(1600.0, abs=10)]
    stats = media.engine.stats("b")
    assert (stats.is_muted, stats.peak_hz) == (True, pytest.approx(1000.0, abs=10))
    assert stats.rms_dbfs > -30

    # when
    await media.engine.set_muted("b", False)
    await asyncio.sleep(SETTLE_SECONDS)
    alice_heard = await clients["a"].listen()

    # then
    assert peaks(alice_heard, 2) == [pytest.approx(1000.0, abs=10), pytest.approx(1600.0, abs=10)]
    assert media.engine.stats("b").is_muted is False


async def test_a_muted_leg_stays_muted_in_another_bridge(media: Media) -> None:
    # given
    alice = await media.connect("a", 440.0)
    await media.connect("b", 1000.0)
    await media.connect("c", 1600.0)
    await media.engine.bridge("first", ["a", "b"])
    await media.engine.set_muted("b", True)

    # when
    await media.engine.bridge("second", ["a", "b", "c"])
    await asyncio.sleep(SETTLE_SECONDS)
    heard = await alice.listen()

    # then
    assert peaks(heard, 1)[0] == pytest.approx(1600.0, abs=10)
    assert tone_dbfs(heard, 1000.0) < tone_dbfs(heard, 1600.0) - 40


# 4. DTMF


async def test_dtmf_is_heard_by_the_other_leg_not_by_the_one_that_pressed(media: Media) -> None:
    # given
    alice = await media.connect("a", None)
    bob = await media.connect("b", None)
    await media.engine.bridge("call-1", ["a", "b"])
    await asyncio.sleep(SETTLE_SECONDS)

    # when
    await media.engine.dtmf("a", "5")
    bob_heard, alice_heard = await asyncio.gather(bob.listen(), alice.listen())

    # then
    assert peaks(bob_heard, 2) == [pytest.approx(770.0, abs=10), pytest.approx(1336.0, abs=10)]
    assert loudest_block_dbfs(bob_heard) > -30
    assert rms_dbfs(alice_heard) < -60


async def test_the_keys_a_muted_leg_presses_are_not_heard(media: Media) -> None:
    # given
    await media.connect("a", None)
    bob = await media.connect("b", None)
    await media.engine.bridge("call-1", ["a", "b"])
    await media.engine.set_muted("a", True)
    await asyncio.sleep(SETTLE_SECONDS)

    # when
    await media.engine.dtmf("a", "5")
    muted_heard = await bob.listen()
    await media.engine.set_muted("a", False)
    await media.engine.dtmf("a", "5")
    heard = await bob.listen()

    # then
    assert rms_dbfs(muted_heard) < -60
    assert peaks(heard, 2) == [pytest.approx(770.0, abs=10), pytest.approx(1336.0, abs=10)]
    with pytest.raises(MediaError, match="true or false"):
        await media.engine.set_muted("a", "yes")  # type: ignore[arg-type]


async def test_dtmf_refuses_characters_that_are_not_keys(media: Media) -> None:
    await media.connect("a", None)
    with pytest.raises(MediaError, match="0-9"):
        await media.engine.dtmf("a", "5A")
    with pytest.raises(MediaError):
        await media.engine.dtmf("a", "")


# 5. Recording


async def test_record_writes_what_the_leg_sends(media: Media, tmp_path: Path) -> None:
    # given
    await media.connect("a", 440.0)
    path = tmp_path / "a.wav"

    # when
    await media.engine.record("a", path)
    await asyncio.sleep(1.0)
    seconds = await media.engine.stop_record("a")

    # then
    assert seconds == pytest.approx(1.0, abs=0.15)
    with wave.open(str(path), "rb") as recording:
        assert (recording.getnchannels(), recording.getsampwidth(), recording.getframerate()) == (1, 2, RATE)
        assert recording.getnframes() / RATE == pytest.approx(seconds, abs=1e-6)
        samples = np.frombuffer(recording.readframes(recording.getnframes()), dtype="<i2")
    assert peaks(samples, 1)[0] == pytest.approx(440.0, abs=10)
    assert rms_dbfs(samples) > -30
    assert await media.engine.stop_record("a") == 0.0


# 6. What the engine refuses


async def test_create_leg_refuses_offers_it_cannot_answer(media: Media) -> None:
    # given
    video_only = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    video_only.addTransceiver("video", direction="sendrecv")
    await video_only.setLocalDescription(await video_only.createOffer())
    no_audio = video_only.localDescription.sdp
    await video_only.close()

    # when / then
    for offer, message in (
        ("", "empty"),
        ("hello", "not valid SDP"),
        ("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=rtpmap:zz\r\n", "not valid SDP"),
        (no_audio, "no audio"),
    ):
        with pytest.raises(MediaError, match=message):
            await media.engine.create_leg("a", offer)
    assert media.engine.leg_count == 0
    assert media.events == []


async def test_a_duplicate_leg_id_is_refused_and_the_first_leg_stays(media: Media) -> None:
    # given
    await media.connect("a", 440.0)
    second = media.client(1000.0)

    # when / then
    with pytest.raises(MediaError, match="already a leg a"):
        await media.engine.create_leg("a", await second.offer())
    assert media.engine.leg_count == 1
    assert media.engine.stats("a").connection_state == "connected"


async def test_unknown_legs_are_refused(media: Media, tmp_path: Path) -> None:
    engine = media.engine
    calls = [
        engine.play("nobody", RINGBACK),
        engine.stop_play("nobody"),
        engine.record("nobody", tmp_path / "x.wav"),
        engine.stop_record("nobody"),
        engine.dtmf("nobody", "1"),
        engine.set_muted("nobody", True),
        engine.bridge("call-1", ["nobody"]),
        engine.unbridge("nobody"),
        engine.add_ice_candidate("nobody", None),
    ]
    for call in calls:
        with pytest.raises(MediaError, match="no leg nobody"):
            await call
    with pytest.raises(MediaError, match="no leg nobody"):
        engine.stats("nobody")
    await engine.hangup("nobody")  # already gone: nothing to do
    assert not (tmp_path / "x.wav").exists()


async def test_only_allowed_candidates_reach_ice(media: Media) -> None:
    # given: an offer that also lists an outside and an mDNS candidate, and trickles more
    client = media.client(440.0)
    offer = without_end_of_candidates(await client.offer())
    own_candidate = next(line for line in offer.splitlines() if line.startswith("a=candidate:"))[2:]

    # when
    answer = await media.engine.create_leg("a", with_candidates(offer, OUTSIDE_CANDIDATE, MDNS_CANDIDATE))
    await client.accept(answer)
    outside = await media.engine.add_ice_candidate("a", {"candidate": OUTSIDE_CANDIDATE, "sdpMid": "0"})
    inside = await media.engine.add_ice_candidate("a", {"candidate": own_candidate, "sdpMLineIndex": 0})
    end = await media.engine.add_ice_candidate("a", None)

    # then
    assert (outside, inside, end) == (False, True, True)
    addresses = candidate_addresses(answer)
    assert addresses
    assert set(addresses) == {"127.0.0.1"}
    await asyncio.wait_for(client.connected.wait(), WAIT_SECONDS)
    with pytest.raises(MediaError, match="not valid"):
        await media.engine.add_ice_candidate("a", {"candidate": "candidate:nonsense", "sdpMid": "0"})
    with pytest.raises(MediaError, match="object"):
        await media.engine.add_ice_candidate("a", {"sdpMid": "0"})


async def test_video_is_declined_and_audio_still_flows(media: Media) -> None:
    # given
    client = media.client(440.0, video=True)

    # when
    answer = await media.engine.create_leg("a", await client.offer())
    await client.accept(answer)
    await asyncio.wait_for(client.connected.wait(), WAIT_SECONDS)
    await media.engine.play("a", Tone((700.0,), 1000, 0), loop=True)
    await asyncio.sleep(SETTLE_SECONDS)
    heard = await client.listen()

    # then
    video_section = answer.split("m=video")[1]
    assert "a=inactive" in video_section
    assert peaks(heard, 1)[0] == pytest.approx(700.0, abs=10)
    assert media.engine.stats("a").peak_hz == pytest.approx(440.0, abs=10)


# 7. Lifecycle


async def test_hangup_reports_closed_once_and_close_leaves_nothing_running(media: Media) -> None:
    # given
    alice = await media.connect("a", 440.0)
    await media.connect("b", 1000.0)
    await media.engine.bridge("call-1", ["a", "b"])

    # when
    await media.engine.hangup("a")
    await media.engine.hangup("a")

    # then
    assert media.events_of("a") == [("connected", ""), ("closed", "")]
    assert media.engine.leg_count == 1
    await wait_until(lambda: alice.pc.connectionState == "closed")

    # when
    await media.close()
    await asyncio.sleep(0.1)

    # then
    assert media.events_of("b") == [("connected", ""), ("closed", "")]
    assert media.engine.leg_count == 0
    assert [task for task in asyncio.all_tasks() if task is not asyncio.current_task()] == []


async def test_a_leg_that_never_connects_fails_then_closes(make_media: Callable[..., Media]) -> None:
    # given: an offer with no candidates the engine could reach
    media = make_media(connect_timeout=0.5)
    client = media.client(440.0)
    offer = without_candidates(await client.offer())

    # when
    await media.engine.create_leg("a", offer)
    await media.wait_for_event("a", "closed")

    # then
    assert media.events_of("a") == [("failed", "The call's audio did not connect within 0.5 seconds."), ("closed", "")]
    assert media.engine.leg_count == 0


async def test_a_client_closing_its_side_closes_the_leg(media: Media) -> None:
    # given
    client = await media.connect("a", 440.0)

    # when
    await client.pc.close()
    await media.wait_for_event("a", "closed")

    # then
    assert media.events_of("a") == [("connected", ""), ("closed", "")]
    assert media.engine.leg_count == 0


async def test_a_failing_event_handler_does_not_break_the_engine(media: Media) -> None:
    # given
    async def broken(leg_id: str, kind: str, detail: str) -> None:
        media.events.append((leg_id, kind, detail))
        raise RuntimeError("handler bug")

    media.engine = MediaEngine(allowed_networks=LOOPBACK, on_leg_event=broken)
    await media.connect("a", 440.0)

    # when
    await media.engine.hangup("a")

    # then
    assert media.events_of("a") == [("connected", ""), ("closed", "")]
    assert media.engine.leg_count == 0
