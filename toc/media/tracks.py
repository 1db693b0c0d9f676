"""Audio plumbing of the media engine: one format (48 kHz mono s16), buffers, sources, the paced track.

Everything inside the engine is 48 kHz mono signed 16-bit samples in numpy arrays, cut into 20 ms
frames of 960 samples; codecs convert at the edges (Opus decodes 48 kHz stereo, PCMU 8 kHz).
This module knows nothing about legs or bridges: `toc.media.engine` wires these pieces together.
"""

import asyncio
import fractions
import math
import time
import wave
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import av
import numpy as np
import numpy.typing as npt
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from toc.media.tones import Tone

SAMPLE_RATE = 48_000
FRAME_SAMPLES = 960  # 20 ms
SILENCE_DBFS = -120.0
SILENT_BELOW_DBFS = -70.0  # quieter than this has no meaningful peak frequency

Samples = npt.NDArray[np.int16]
_TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)
_RAMP_SAMPLES = 96  # 2 ms fade at each edge of a tone burst, so tones start and stop without clicks
_MAX_LAG_SECONDS = 0.1


def silence(count: int = FRAME_SAMPLES) -> Samples:
    return np.zeros(count, dtype=np.int16)


def rms_dbfs(samples: Samples) -> float:
    """Root-mean-square level relative to full scale; `SILENCE_DBFS` for nothing or digital silence."""
    if samples.size == 0:
        return SILENCE_DBFS
    rms = math.sqrt(float(np.mean(np.square(samples.astype(np.float64))))) / 32768.0
    return max(SILENCE_DBFS, 20 * math.log10(rms)) if rms > 0 else SILENCE_DBFS


def peak_hz(samples: Samples, sample_rate: int = SAMPLE_RATE) -> float:
    """Frequency of the strongest FFT bin (Hann window); 0.0 when the audio is (nearly) silent."""
    if samples.size < 2 or rms_dbfs(samples) < SILENT_BELOW_DBFS:
        return 0.0
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(samples.size)))
    spectrum[0] = 0.0
    return float(np.fft.rfftfreq(samples.size, 1 / sample_rate)[int(np.argmax(spectrum))])


class MonoResampler:
    """Decoded frames of any codec's format → 48 kHz mono s16 samples."""

    def __init__(self) -> None:
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)

    def convert(self, frame: av.AudioFrame | None) -> Samples:
        """Samples for `frame`; None flushes what the resampler still holds."""
        chunks = [out.to_ndarray().reshape(-1) for out in self._resampler.resample(frame)]
        if not chunks:
            return silence(0)
        return np.concatenate(chunks).astype(np.int16, copy=False)


class SampleQueue:
    """A short, bounded FIFO between one leg's decoder and its bridge's mixer (`MixMinus`).

    When full, the oldest samples go (latency stays bounded when the sender's clock runs fast);
    after running dry it waits for `prime_samples` before playing again, so network jitter costs
    one short gap instead of a gap every frame.
    """

    def __init__(self, *, max_samples: int = 5 * FRAME_SAMPLES, prime_samples: int = 2 * FRAME_SAMPLES) -> None:
        self._buffer = silence(0)
        self._max = max_samples
        self._prime = prime_samples
        self._is_priming = True

    def __len__(self) -> int:
        return int(self._buffer.size)

    def put(self, samples: Samples) -> None:
        self._buffer = np.concatenate((self._buffer, samples))[-self._max :]

    def take(self, count: int = FRAME_SAMPLES) -> Samples:
        if self._is_priming:
            if self._buffer.size < self._prime:
                return silence(count)
            self._is_priming = False
        out = self._buffer[:count]
        self._buffer = self._buffer[count:]
        if out.size < count:
            self._is_priming = True
            out = np.concatenate((out, silence(count - out.size)))
        return out


MIX_HISTORY = 5  # mixes kept (100 ms) for members whose output runs behind the bridge's


class MixMinus:
    """The audio of one bridge: every member hears all the others, never itself ("mix-minus").

    Members `put` what they say into their own `SampleQueue`. When a member's output needs its
    next 20 ms (`heard`) and the bridge has not mixed that frame yet, the frame is mixed once:
    one frame from each member's queue, summed; each member hears that sum minus its own frame.
    That is N queue reads and N subtractions per 20 ms, where a queue per listener would take
    N * (N - 1); for two members it is the same work.

    Members' outputs tick at the same rate in different phases, so the first one due a frame
    mixes it and the last few mixes are kept for the others. A member further behind than that
    (its output stalled) skips to the oldest mix kept, never to the newest: a member that jumped
    ahead would mix the next frames itself, early, and under load those jumps add up until the
    bridge mixes faster than its members speak and everybody hears the queues' silence.
    """

    def __init__(self) -> None:
        self._queues: dict[str, SampleQueue] = {}  # in joining order
        self._next: dict[str, int] = {}  # member → the number of the mix it hears next
        self._mixes: deque[tuple[int, npt.NDArray[np.int32], dict[str, Samples]]] = deque(maxlen=MIX_HISTORY)
        self._newest = 0  # number of the newest mix; the first is 1

    @property
    def members(self) -> list[str]:
        return list(self._queues)

    def add(self, member: str) -> None:
        self._queues[member] = SampleQueue()
        self._next[member] = self._newest + 1

    def remove(self, member: str) -> None:
        self._queues.pop(member, None)
        self._next.pop(member, None)

    def put(self, member: str, samples: Samples) -> None:
        queue = self._queues.get(member)
        if queue is not None:
            queue.put(samples)

    def forget(self, member: str) -> None:
        """Drop what the member said and nobody heard yet (it was muted, or unmuted)."""
        if member in self._queues:
            self._queues[member] = SampleQueue()

    def heard(self, member: str) -> npt.NDArray[np.int32]:
        """The member's next 20 ms: every other member's audio, summed (not clipped)."""
        number = self._next[member]
        if number > self._newest:
            self._mix()
        oldest = self._mixes[0][0]
        number = max(number, oldest)
        _, total, parts = self._mixes[number - oldest]
        self._next[member] = number + 1
        own = parts.get(member)
        return total - own if own is not None else total.copy()

    def _mix(self) -> None:
        total = np.zeros(FRAME_SAMPLES, dtype=np.int32)
        parts: dict[str, Samples] = {}
        for member, queue in self._queues.items():
            part = queue.take(FRAME_SAMPLES)
            total += part
            parts[member] = part
        self._newest += 1
        self._mixes.append((self._newest, total, parts))


class LevelMeter:
    """The last second of a leg's inbound audio, for its level and dominant frequency."""

    def __init__(self, seconds: float = 1.0) -> None:
        self._buffer = silence(int(SAMPLE_RATE * seconds))
        self._position = 0
        self._filled = 0

    def add(self, samples: Samples) -> None:
        size = self._buffer.size
        if samples.size >= size:
            self._buffer[:] = samples[-size:]
            self._position, self._filled = 0, size
            return
        end = self._position + samples.size
        if end <= size:
            self._buffer[self._position : end] = samples
        else:
            split = size - self._position
            self._buffer[self._position :] = samples[:split]
            self._buffer[: end - size] = samples[split:]
        self._position = end % size
        self._filled = min(size, self._filled + samples.size)

    def last(self) -> Samples:
        if self._filled < self._buffer.size:
            return self._buffer[: self._filled].copy()
        return np.concatenate((self._buffer[self._position :], self._buffer[: self._position]))


class AudioSource(Protocol):
    def read(self, count: int) -> Samples | None:
        """The next `count` samples (zero-padded at the very end), or None once finished."""


class ToneSource:
    """A `Tone` rendered on the fly: one cadence (on, then off) or, with `loop`, forever."""

    def __init__(self, tone: Tone, *, loop: bool) -> None:
        self._frequencies = np.array(tone.frequencies, dtype=np.float64)
        self._amplitude = 32767 * 10 ** (tone.level_dbfs / 20) / len(tone.frequencies)
        self._on = tone.on_ms * SAMPLE_RATE // 1000
        self._cycle = self._on + tone.off_ms * SAMPLE_RATE // 1000
        self._is_continuous = tone.off_ms == 0
        self._loop = loop
        self._position = 0

    def read(self, count: int) -> Samples | None:
        if not self._loop and self._position >= self._cycle:
            return None
        index = np.arange(self._position, self._position + count)
        self._position += count
        phases = np.outer(index / SAMPLE_RATE, 2 * np.pi * self._frequencies)
        wave_ = np.sin(phases).sum(axis=1) * self._amplitude
        in_cycle = index % self._cycle
        if self._is_continuous:
            envelope = np.ones(count)
        else:
            edge = np.minimum(in_cycle, self._on - in_cycle) / _RAMP_SAMPLES
            envelope = np.where(in_cycle < self._on, np.clip(edge, 0.0, 1.0), 0.0)
        if not self._loop:
            envelope[index >= self._cycle] = 0.0
        return (wave_ * envelope).astype(np.int16)


def tone_samples(tone: Tone) -> Samples:
    """One cadence of a tone (its sound, then its silence) as samples."""
    samples = ToneSource(tone, loop=False).read((tone.on_ms + tone.off_ms) * SAMPLE_RATE // 1000)
    assert samples is not None
    return samples


class SamplesSource:
    """Decoded audio (a prompt, music on hold, a list of them joined) played once or looped."""

    def __init__(self, samples: Samples, *, loop: bool) -> None:
        self._samples = samples
        self._loop = loop and samples.size > 0
        self._position = 0

    def read(self, count: int) -> Samples | None:
        if self._loop:
            index = np.arange(self._position, self._position + count) % self._samples.size
            self._position = int((self._position + count) % self._samples.size)
            return self._samples[index]
        if self._position >= self._samples.size:
            return None
        out = self._samples[self._position : self._position + count]
        self._position += count
        if out.size < count:
            out = np.concatenate((out, silence(count - out.size)))
        return out


class SourceSequence:
    """Sources played one after another (DTMF digits), finished when the last one is."""

    def __init__(self) -> None:
        self._sources: deque[AudioSource] = deque()

    def __bool__(self) -> bool:
        return bool(self._sources)

    def extend(self, sources: list[AudioSource]) -> None:
        self._sources.extend(sources)

    def clear(self) -> None:
        self._sources.clear()

    def read(self, count: int) -> Samples | None:
        while self._sources:
            chunk = self._sources[0].read(count)
            if chunk is not None:
                return chunk
            self._sources.popleft()
        return None


def load_audio_file(path: Path) -> Samples:
    """Decode a whole audio file (wav, ogg/opus, mp3… whatever FFmpeg reads) to 48 kHz mono s16.

    Raises OSError, ValueError or av.FFmpegError when the file cannot be read as audio.
    """
    resampler = MonoResampler()
    chunks: list[Samples] = []
    with av.open(str(path)) as container:
        if not container.streams.audio:
            raise ValueError(f"{path.name} has no audio.")
        for frame in container.decode(container.streams.audio[0]):
            chunks.append(resampler.convert(frame))
        chunks.append(resampler.convert(None))
    return np.concatenate(chunks) if chunks else silence(0)


class WavRecorder:
    """Appends samples to a 48 kHz mono 16-bit WAV file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.samples_written = 0
        self._file = wave.open(str(path), "wb")
        self._file.setnchannels(1)
        self._file.setsampwidth(2)
        self._file.setframerate(SAMPLE_RATE)

    @property
    def seconds(self) -> float:
        return self.samples_written / SAMPLE_RATE

    def write(self, samples: Samples) -> None:
        self._file.writeframes(samples.astype("<i2", copy=False).tobytes())
        self.samples_written += int(samples.size)

    def close(self) -> float:
        self._file.close()
        return self.seconds


OPUS_BIT_RATE = 40_000  # mono wide-band voice; aiortc's own encoder sends 96 kb/s stereo


class OpusFrameEncoder:
    """The engine's own Opus encoder: mono voice, one packet per 20 ms frame.

    aiortc encodes each outgoing frame in a thread-pool job (a thread hand-off per frame per leg)
    with a stereo encoder; a track that yields ready `av.Packet`s is only packetised (the path
    aiortc's `MediaPlayer(decode=False)` uses), which costs half the encoding and no hand-off.
    """

    def __init__(self) -> None:
        self._codec = av.CodecContext.create("libopus", "w")
        self._codec.bit_rate = OPUS_BIT_RATE
        self._codec.format = "s16"
        self._codec.layout = "mono"
        self._codec.sample_rate = SAMPLE_RATE
        self._codec.time_base = _TIME_BASE
        self._codec.options = {"application": "voip"}

    def encode(self, frame: av.AudioFrame) -> av.Packet | None:
        packets = self._codec.encode(frame)
        if not packets:
            return None
        packet = packets[0]
        packet.pts = frame.pts  # the encoder's own pts start negative (its look-ahead)
        packet.time_base = _TIME_BASE
        return packet


class MixedOutputTrack(MediaStreamTrack):
    """What the engine sends to one leg: 20 ms frames, paced in real time, made by `produce`.

    Pacing follows aiortc's `AudioStreamTrack` (timestamps from the first frame, sleep until each
    frame is due). After a stall longer than 100 ms the clock re-anchors instead of sending a
    burst of late frames.
    """

    kind = "audio"

    def __init__(self, produce: Callable[[], Samples]) -> None:
        super().__init__()
        self._produce = produce
        self._start: float | None = None
        self._timestamp = 0
        self.frames_sent = 0
        self.encoder: OpusFrameEncoder | None = None  # set once the leg has negotiated Opus

    async def recv(self) -> av.AudioFrame | av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        else:
            self._timestamp += FRAME_SAMPLES
            wait = self._start + self._timestamp / SAMPLE_RATE - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
            elif wait < -_MAX_LAG_SECONDS:
                self._start = time.time() - self._timestamp / SAMPLE_RATE
        frame = av.AudioFrame.from_ndarray(self._produce().reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._timestamp
        frame.time_base = _TIME_BASE
        self.frames_sent += 1
        if self.encoder is not None:
            packet = self.encoder.encode(frame)
            if packet is not None:
                return packet
        return frame
