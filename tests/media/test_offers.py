"""The media engine's pure parts: reading offers and candidates, tones, and its audio buffers."""

import numpy as np
import pytest

from toc.media.engine import BUSY, RINGBACK, MediaError, Tone, dtmf_tone
from toc.media.engine_sdp import filter_offer_candidates, parse_networks, read_candidate, read_offer
from toc.media.tracks import FRAME_SAMPLES, LevelMeter, SampleQueue, ToneSource, peak_hz, rms_dbfs

LOOPBACK = parse_networks(["127.0.0.0/8"])
HOST = "candidate:1 1 udp 1 127.0.0.1 1 typ host"


def offer(*codec_lines: str, candidates: tuple[str, ...] = ()) -> str:
    payload_types = " ".join(line.split(":")[1].split()[0] for line in codec_lines)
    return "\r\n".join(
        [
            "v=0",
            "o=- 1 2 IN IP4 127.0.0.1",
            "s=-",
            "t=0 0",
            "a=group:BUNDLE 0",
            f"m=audio 9 UDP/TLS/RTP/SAVPF {payload_types}",
            "c=IN IP4 0.0.0.0",
            "a=ice-ufrag:abcd",
            "a=ice-pwd:abcdefghijklmnopqrstuvwx",
            "a=fingerprint:sha-256 " + ":".join(["AB"] * 32),
            "a=setup:actpass",
            "a=mid:0",
            "a=sendrecv",
            "a=rtcp-mux",
            *codec_lines,
            *(f"a={candidate}" for candidate in candidates),
            "",
        ]
    )


OPUS = "a=rtpmap:111 opus/48000/2"
PCMU = "a=rtpmap:0 PCMU/8000"
PCMA = "a=rtpmap:8 PCMA/8000"


def test_the_answer_uses_opus_or_pcmu_in_the_offer_order() -> None:
    assert [c.mimeType for c in read_offer(offer(OPUS, PCMU, PCMA), LOOPBACK).codecs] == ["audio/opus", "audio/PCMU"]
    assert [c.mimeType for c in read_offer(offer(PCMA, PCMU, OPUS), LOOPBACK).codecs] == ["audio/PCMU", "audio/opus"]


@pytest.mark.parametrize(
    ("sdp", "message"),
    [
        (None, "The call offer is empty."),
        ("   ", "The call offer is empty."),
        ("x" * 70_000, "The call offer is too large."),
        ("hello", "The call offer is not valid SDP."),
        (offer(PCMA), "The call offer has no audio codec the phone system supports (Opus or PCMU)."),
        (offer(OPUS).replace("m=audio 9", "m=audio 0"), "The call offer has no audio."),
        (offer(OPUS).replace("a=ice-pwd:abcdefghijklmnopqrstuvwx\r\n", ""), "The call offer has no ICE credentials."),
    ],
)
def test_offers_the_engine_cannot_answer_are_refused_with_a_reason(sdp: object, message: str) -> None:
    with pytest.raises(MediaError) as refused:
        read_offer(sdp, LOOPBACK)
    assert str(refused.value) == message


def test_offered_candidates_outside_the_allowed_networks_are_removed() -> None:
    # given
    sdp = offer(
        OPUS,
        candidates=(
            "candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host",
            "candidate:9 1 udp 2122260223 192.0.2.7 50000 typ host",
            "candidate:8 1 udp 2122260223 0b5a9e3c-1111-2222-3333-444455556666.local 50001 typ host",
            "candidate:broken",
            "candidate:2 1 udp 1686052607 127.0.0.2 40001 typ srflx raddr 0.0.0.0 rport 0",
        ),
    )

    # when
    filtered, dropped = filter_offer_candidates(sdp, LOOPBACK)
    prepared = read_offer(sdp, LOOPBACK)

    # then
    addresses = [line.split()[4] for line in filtered.splitlines() if line.startswith("a=candidate:")]
    assert (addresses, dropped) == (["127.0.0.1", "127.0.0.2"], 3)
    assert (prepared.sdp, prepared.dropped_candidates) == (filtered, 3)
    assert filtered.replace("\r\n", "\n").count(OPUS) == 1


def test_trickled_candidates_are_read_like_a_browser_sends_them() -> None:
    candidate = read_candidate(
        {"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host", "sdpMid": "0", "sdpMLineIndex": 0}
    )
    assert candidate is not None
    assert (candidate.ip, candidate.port, candidate.type, candidate.sdpMid, candidate.sdpMLineIndex) == (
        "127.0.0.1",
        40000,
        "host",
        "0",
        0,
    )
    assert read_candidate(None) is None
    assert read_candidate({"candidate": "", "sdpMid": "0"}) is None


@pytest.mark.parametrize(
    ("candidate", "message"),
    [
        ("candidate:1 1 udp", "An ICE candidate must be an object with a candidate string."),
        ({"candidate": 5}, "An ICE candidate must be an object with a candidate string."),
        (
            {"candidate": HOST},
            "An ICE candidate needs an sdpMid or an sdpMLineIndex.",
        ),
        ({"candidate": "candidate:1 1 udp", "sdpMid": "0"}, "The ICE candidate is not valid."),
        (
            {"candidate": HOST, "sdpMid": 0},
            "An ICE candidate's sdpMid must be a string.",
        ),
        ({"candidate": "x", "sdpMLineIndex": True}, "An ICE candidate's sdpMLineIndex must be a whole number."),
    ],
)
def test_malformed_trickled_candidates_are_refused(candidate: object, message: str) -> None:
    with pytest.raises(MediaError) as refused:
        read_candidate(candidate)
    assert str(refused.value) == message


def test_tones_follow_the_north_american_plan() -> None:
    assert dtmf_tone("5") == Tone((770.0, 1336.0), 150, 80)
    assert dtmf_tone("#") == Tone((941.0, 1477.0), 150, 80)
    assert RINGBACK == Tone((440.0, 480.0), 2000, 4000, -12.0)
    assert BUSY == Tone((480.0, 620.0), 500, 500, -12.0)
    with pytest.raises(ValueError, match="keypad"):
        dtmf_tone("A")


def test_a_tone_played_once_lasts_one_cadence() -> None:
    # given
    source = ToneSource(Tone((1000.0,), 100, 100), loop=False)

    # when
    chunks = []
    while (chunk := source.read(FRAME_SAMPLES)) is not None:
        chunks.append(chunk)
    samples = np.concatenate(chunks)

    # then
    assert samples.size == 200 * 48
    assert peak_hz(samples[: 100 * 48]) == pytest.approx(1000.0, abs=10)
    assert rms_dbfs(samples[: 100 * 48]) == pytest.approx(-15.0, abs=0.5)  # -12 dBFS peak sine
    assert rms_dbfs(samples[100 * 48 :]) == -120.0


def test_a_listener_queue_keeps_the_newest_five_frames_and_reprimes_after_running_dry() -> None:
    # given
    queue = SampleQueue()
    for frame in range(8):
        queue.put(np.full(FRAME_SAMPLES, frame, dtype=np.int16))

    # when
    taken = [int(queue.take()[0]) for _ in range(6)]

    # then: frames 0-2 were dropped, then it ran dry
    assert taken == [3, 4, 5, 6, 7, 0]
    queue.put(np.full(FRAME_SAMPLES, 9, dtype=np.int16))
    assert int(queue.take()[0]) == 0  # waiting for two frames again
    queue.put(np.full(FRAME_SAMPLES, 10, dtype=np.int16))
    assert [int(queue.take()[0]), int(queue.take()[0])] == [9, 10]


def test_the_level_meter_keeps_the_last_second() -> None:
    meter = LevelMeter()
    for frame in range(60):
        meter.add(np.full(FRAME_SAMPLES, frame, dtype=np.int16))
    last = meter.last()
    assert last.size == 48_000
    assert (int(last[0]), int(last[-1])) == (10, 59)
