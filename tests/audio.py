"""Real audio for tests: tones, signal analysis, and an aiortc client that acts like a browser.

Assert on frequency and level, never on packet counts: FFT peak within 10 Hz, level in dBFS.
"""

import asyncio
import fractions
import ipaddress
import math
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import aioice.ice
import av
import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from toc.media.engine import restrict_host_addresses

RATE = 48_000
LISTEN_SECONDS = 1.0
WAIT_SECONDS = 10.0


# Signal analysis


def rms_dbfs(samples: np.ndarray) -> float:
    if samples.size == 0:
        return -120.0
    rms = math.sqrt(float(np.mean(np.square(samples.astype(np.float64))))) / 32768
    return 20 * math.log10(rms) if rms > 0 else -120.0


def loudest_block_dbfs(samples: np.ndarray, block: int = 960) -> float:
    return max(rms_dbfs(samples[start : start + block]) for start in range(0, samples.size - block + 1, block))


def spectrum(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies and the amplitude (in full-scale units) of a sine at each."""
    window = np.hanning(samples.size)
    magnitude = np.abs(np.fft.rfft(samples.astype(np.float64) * window)) / (window.sum() / 2) / 32768
    magnitude[0] = 0.0
    return np.fft.rfftfreq(samples.size, 1 / RATE), magnitude


def peaks(samples: np.ndarray, count: int) -> list[float]:
    """The `count` strongest frequencies, each at least 30 Hz from the others, lowest first."""
    frequencies, magnitude = spectrum(samples)
    found = []
    for _ in range(count):
        index = int(np.argmax(magnitude))
        found.append(float(frequencies[index]))
        magnitude[np.abs(frequencies - frequencies[index]) < 30] = 0.0
    return sorted(found)


def tone_dbfs(samples: np.ndarray, hz: float) -> float:
    """Level of the sine component at `hz` (±10 Hz), in dBFS of its amplitude."""
    frequencies, magnitude = spectrum(samples)
    amplitude = float(magnitude[np.abs(frequencies - hz) <= 10].max())
    return 20 * math.log10(max(amplitude, 1e-9))


# Clients acting as browsers


class SineTrack(MediaStreamTrack):
    """A real-time paced 48 kHz mono sine (or silence), 20 ms frames."""

    kind = "audio"

    def __init__(self, frequency: float | None, level_dbfs: float = -9.0) -> None:
        super().__init__()
        self.frequency = frequency
        self.amplitude = 32767 * 10 ** (level_dbfs / 20)
        self.timestamp = 0
        self.start: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self.start is None:
            self.start = time.time()
        else:
            self.timestamp += 960
            await asyncio.sleep(max(0.0, self.start + self.timestamp / RATE - time.time()))
        if self.frequency is None:
            samples = np.zeros(960, dtype=np.int16)
        else:
            t = np.arange(self.timestamp, self.timestamp + 960) / RATE
            samples = (np.sin(2 * np.pi * self.frequency * t) * self.amplitude).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self.timestamp
        frame.time_base = fractions.Fraction(1, RATE)
        return frame


class Client:
    """A browser's PeerConnection: offers audio (opus or PCMU), sends a tone, records what it hears."""

    def __init__(self, frequency: float | None, *, codec: str = "opus", video: bool = False) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.heard: list[np.ndarray] = []
        self.connected = asyncio.Event()
        self.reader: asyncio.Task[None] | None = None
        transceiver = self.pc.addTransceiver(SineTrack(frequency), direction="sendrecv")
        capabilities = RTCRtpSender.getCapabilities("audio").codecs
        transceiver.setCodecPreferences([c for c in capabilities if c.mimeType.lower() == f"audio/{codec.lower()}"])
        if video:
            self.pc.addTransceiver("video", direction="recvonly")
        self.pc.on("track", self.on_track)
        self.pc.on("connectionstatechange", self.on_state)

    def on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            self.reader = asyncio.create_task(self.read(track))

    def on_state(self) -> None:
        if self.pc.connectionState == "connected":
            self.connected.set()

    async def read(self, track: MediaStreamTrack) -> None:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            assert isinstance(frame, av.AudioFrame)
            for out in resampler.resample(frame):
                self.heard.append(out.to_ndarray().reshape(-1))

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def accept(self, answer: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

    async def listen(self, seconds: float = LISTEN_SECONDS) -> np.ndarray:
        start = len(self.heard)
        await asyncio.sleep(seconds)
        chunks = self.heard[start:]
        assert chunks, "nothing was decoded while listening"
        return np.concatenate(chunks)

    async def close(self) -> None:
        await self.pc.close()
        if self.reader is not None:
            # A track whose receiver never started (never connected) does not end on close.
            self.reader.cancel()
            await asyncio.wait_for(asyncio.gather(self.reader, return_exceptions=True), WAIT_SECONDS)


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """ICE gathers only 127.0.0.1, and fails the test if handed any other remote address."""
    original_addresses = aioice.ice.get_host_addresses
    original_add = aioice.ice.Connection.add_remote_candidate

    async def guarded_add(self: aioice.ice.Connection, candidate: aioice.Candidate | None) -> None:
        if candidate is not None:
            assert ipaddress.ip_address(candidate.host).is_loopback, f"ICE was given {candidate.host}"
        await original_add(self, candidate)

    monkeypatch.setattr(aioice.ice.Connection, "add_remote_candidate", guarded_add)
    restrict_host_addresses(["127.0.0.1"])
    yield
    aioice.ice.get_host_addresses = original_addresses


WAV_RATE = 48_000


def write_wav(path: Path, *, hz: float, seconds: float, amplitude: float = 0.3) -> Path:
    time = np.arange(int(WAV_RATE * seconds)) / WAV_RATE
    samples = (amplitude * 32767 * np.sin(2 * np.pi * hz * time)).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(WAV_RATE)
        out.writeframes(samples.tobytes())
    return path
