"""One conference room on one media engine core: how many participants a single bridge holds.

Usage (from the repository root; a full run takes 3-5 minutes):

    .venv/bin/python bench/conference.py --json

Method
------
1. Engine. A subprocess (this file with ``--engine``) pins itself to ``--engine-core``
   (default 0) before it starts any thread, so every thread of it (aiortc's decoder threads
   too) stays on that core; it gathers ICE candidates on 127.0.0.1 only and runs one
   ``MediaEngine(allowed_networks=["127.0.0.0/8"])`` directly: no Django, no database, no
   channel layer. It reads commands as JSON lines on its stdin (``hello``, ``create_leg``,
   ``bridge``, ``hangup``, ``lag``; end of input closes it) and answers each by its ``id`` on
   its stdout, where it also reports leg events (``failed``, ``closed``). It samples its own
   event-loop lag (how much a 10 ms sleep oversleeps; ~0.2 % of a core, part of its CPU) and
   times the garbage collector's full (generation 2) collections.
2. Participants. This process pins itself to ``--client-core`` (default 1) and plays every
   participant: one aiortc PeerConnection each, ``RTCConfiguration(iceServers=[])``, ICE on
   127.0.0.1 only (every engine answer is checked to offer loopback candidates only).
   Participant i sends its own tone, 330 + 100 i Hz at ``--tone-dbfs`` (default -30 dBFS, so
   that 40 tones summed stay below full scale), as Opus packets encoded once by aiortc's
   encoder and looped, like ``bench/calls.py`` (2.5 s of continuous phase: the loop has no
   seam); it decodes everything it receives, like a softphone. The tones are not whole periods
   per 20 ms frame, so a mix that took a participant's own frame from the wrong 20 ms would
   leave its tone audible (about 5 dB above the others) instead of cancelling it.
3. Levels 5, 10, 15, ... (``--start``, ``--step``) up to ``--max`` participants, all in one
   bridge. Participants stay from one level to the next; new ones connect
   ``--ramp-concurrency`` at a time and join the bridge once connected. After ``--settle``
   seconds, a ``--window`` second window:
   - the engine process's CPU (all threads, % of one core), its RSS and event-loop lag;
     ``cpu_pct_per_participant`` = engine CPU / N;
   - every participant: decoded frames per second and the RFC 3550 jitter of their arrival
     (``leg_timing`` of ``bench/calls.py``: the worst J in the window counts);
   - at the window's end, the last second each participant decoded (FFT, Hann window): every
     other participant's tone (±10 Hz) must be above ``--hear-dbfs`` (default -45 dBFS), and
     its own tone at least ``OWN_TONE_MARGIN_DB`` (6 dB) below the weakest of them. Not more:
     the engine's 40 kb/s Opus encoder turns many tones on a regular grid into intermodulation
     products on that grid, own frequency included: 10-40 dB below the tones, depending on
     their phases (measured 9.5 dB at worst, at 15 participants). An echo of one's own audio
     would be as loud as the others;
   - this process's CPU (% of its core) and event-loop lag; a level where the participants
     use 85 % of their core or more is ``client_saturated``; ``others_cpu_pct``: every other
     process of the machine. Each window starts once other processes use less than 15 % of a
     core (waiting at most ``--quiet-timeout`` seconds: ``waited_for_quiet_seconds``), and a
     level that fails while they used more is measured again, up to ``--busy-retries`` times.
   A level *holds* when no participant was lost (its leg failed or closed, or its
   PeerConnection did), every participant gets >= 48 frames/s with jitter < 20 ms, hears
   every other participant and does not hear itself.
4. Capacity. Levels go up until one does not hold; then the levels between the last that
   held and the first that failed are tried one participant at a time (participants hang up
   to go back down). ``max_participants_one_room`` is the largest level that held below the
   first failure. If the participants' core was saturated when a level failed, or when the
   ramp stopped, the figure is a lower bound set by the clients (``limited_by``: ``client``);
   if other processes were still busy, by them (``other processes``); else ``engine``.
5. Teardown (always, in ``finally``): the participants hang up, the engine's stdin is closed
   (it closes every leg and exits), and if it has not exited in time it is stopped by its PID.
   ``engine_errors`` / ``engine_warnings`` count what it logged. Every wait has a timeout and
   ``--timeout`` bounds the whole run.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import datetime
import fractions
import gc
import itertools
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `bench`, `tests` and `toc` importable
    sys.path.insert(0, str(ROOT))

from bench.calls import (  # noqa: E402
    MAX_JITTER_MS,
    MIN_FPS,
    close_phones,
    cpu_by_process,
    leg_timing,
    loop_lag,
    loopback_only,
    make_tracks,
    process_cpu,
    versions,
)
from bench.presence_fanout import (  # noqa: E402
    BenchError,
    Deadline,
    Interrupted,
    guarded,
    log,
    machine_info,
    on_sigterm,
    percentile,
    print_report,
    raise_open_files_limit,
    rounded,
    rss_bytes,
    source_revision,
    stop_process,
    tail,
)

THIS_FILE = Path(__file__).resolve()
RATE = 48_000
FRAME_SAMPLES = 960  # 20 ms
ANALYSIS_FRAMES = 50  # the last second a participant decoded
ROOM = "room"
OWN_TONE_MARGIN_DB = 6.0
CLIENT_SATURATED_PCT = 85.0
OTHERS_TOLERATED_PCT = 15.0
STREAM_LIMIT = 16 * 1024 * 1024
GOAL_PARTICIPANTS = 20
LOWEST_HZ = 330.0  # x 2.5 s loop: whole periods; x 20 ms frame: not
STEP_HZ = 100.0
HIGHEST_PARTICIPANTS = 60  # 6.2 kHz: tones stay inside the engine's Opus audio band
LOOP_FRAMES = 125  # 2.5 s


def tone_hz(index: int) -> float:
    return LOWEST_HZ + STEP_HZ * index


# --------------------------------------------------------------------------------------------
# The engine process: one MediaEngine, driven by JSON lines on stdin
# --------------------------------------------------------------------------------------------


def emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message, separators=(",", ":")) + "\n")
    sys.stdout.flush()


async def serve_engine() -> None:
    from toc.media.engine import MediaEngine, MediaError, restrict_host_addresses

    logger = logging.getLogger("bench.engine")
    restrict_host_addresses(["127.0.0.1"])
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader(limit=STREAM_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)

    async def leg_event(leg_id: str, kind: str, detail: str) -> None:
        emit({"event": kind, "leg_id": leg_id, "detail": detail})

    engine = MediaEngine(allowed_networks=["127.0.0.0/8"], on_leg_event=leg_event)
    lags: list[float] = []
    sampler = asyncio.create_task(loop_lag(lags))
    collections_ms: list[float] = []  # how long each of the garbage collector's full collections took
    collecting_since = [0.0]

    def on_collection(phase: str, info: dict[str, int]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            collecting_since[0] = time.perf_counter()
        else:
            collections_ms.append((time.perf_counter() - collecting_since[0]) * 1000)

    gc.callbacks.append(on_collection)
    running: set[asyncio.Task[None]] = set()

    async def handle(command: dict[str, Any]) -> None:
        op = command.get("op")
        result: Any = None
        try:
            if op == "hello":
                result = os.getpid()
            elif op == "create_leg":
                result = await engine.create_leg(str(command["leg_id"]), str(command["sdp"]))
            elif op == "bridge":
                await engine.bridge(str(command["bridge_id"]), [str(leg) for leg in command["leg_ids"]])
            elif op == "hangup":
                await asyncio.gather(*(engine.hangup(str(leg)) for leg in command["leg_ids"]))
            elif op == "lag":  # since the last "lag"
                result = {
                    "p99": percentile(lags, 0.99),
                    "max": max(lags) if lags else None,
                    "full_collections": len(collections_ms),
                    "full_collection_ms_max": max(collections_ms) if collections_ms else None,
                }
                lags.clear()
                collections_ms.clear()
            else:
                raise MediaError(f"unknown command {op!r}")
        except MediaError as error:
            emit({"id": command.get("id"), "error": str(error)})
            return
        except Exception as error:
            logger.exception("command %s crashed", op)
            emit({"id": command.get("id"), "error": f"{type(error).__name__}: {error}"})
            return
        emit({"id": command.get("id"), "result": result})

    try:
        while line := await stdin.readline():  # end of input: close
            task = asyncio.create_task(handle(json.loads(line)))
            running.add(task)
            task.add_done_callback(running.discard)
    finally:
        sampler.cancel()
        await asyncio.wait_for(engine.close(), timeout=30)
        await asyncio.gather(sampler, *running, return_exceptions=True)


def engine_entry(core: int) -> None:
    os.sched_setaffinity(0, {core})  # first, so that every thread started later inherits it
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(serve_engine())


class Engine:
    """The coordinator's end of the engine process: requests by id, and the leg events."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.ids = itertools.count()
        self.events: list[tuple[str, str, str]] = []
        self.reader: asyncio.Task[None] | None = None
        self.transport: asyncio.BaseTransport | None = None

    async def start(self, timeout: float) -> None:
        assert self.process.stdout is not None
        stdout = asyncio.StreamReader(limit=STREAM_LIMIT)
        loop = asyncio.get_running_loop()
        self.transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(stdout), self.process.stdout
        )
        self.reader = asyncio.create_task(self._read(stdout))
        pid = await self.request("hello", timeout=timeout)
        if pid != self.process.pid:
            raise BenchError(f"the engine answered from pid {pid}, not {self.process.pid}")

    async def _read(self, stdout: asyncio.StreamReader) -> None:
        while line := await stdout.readline():
            message = json.loads(line)
            if "event" in message:
                self.events.append((str(message["leg_id"]), str(message["event"]), str(message["detail"])))
                continue
            waiting = self.pending.pop(int(message["id"]), None)
            if waiting is None or waiting.done():
                continue
            if "error" in message:
                waiting.set_exception(BenchError(f"engine: {message['error']}"))
            else:
                waiting.set_result(message.get("result"))
        for waiting in self.pending.values():
            if not waiting.done():
                waiting.set_exception(BenchError("the engine process exited"))

    async def request(self, op: str, *, timeout: float, **params: Any) -> Any:
        assert self.process.stdin is not None
        if self.reader is not None and self.reader.done():
            raise BenchError("the engine process exited")
        number = next(self.ids)
        answer = asyncio.get_running_loop().create_future()
        self.pending[number] = answer
        self.process.stdin.write(json.dumps({"id": number, "op": op, **params}).encode() + b"\n")
        self.process.stdin.flush()
        try:
            return await asyncio.wait_for(answer, timeout=timeout)
        except TimeoutError:
            raise BenchError(f"the engine did not answer {op} within {timeout:g} s") from None
        finally:
            self.pending.pop(number, None)

    def lost_legs(self) -> set[str]:
        return {leg_id for leg_id, kind, _ in self.events if kind in ("failed", "closed")}

    async def close(self, timeout: float) -> None:
        """End of input: the engine closes its legs and exits (bounded; the caller kills it if not)."""
        with contextlib.suppress(OSError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        ends_by = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < ends_by:
            await asyncio.sleep(0.1)
        if self.reader is not None:
            self.reader.cancel()
            await asyncio.gather(self.reader, return_exceptions=True)
        if self.transport is not None:
            self.transport.close()


def start_engine(args: argparse.Namespace, log_path: Path) -> subprocess.Popen[bytes]:
    with open(log_path, "wb") as output:
        return subprocess.Popen(
            [sys.executable, str(THIS_FILE), "--engine", "--engine-core", str(args.engine_core)],
            cwd=str(ROOT),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=output,
        )


def engine_threads(pid: int, core: int) -> dict[str, int]:
    """How many of the engine's threads exist and how many may run only on its core."""
    import psutil

    threads = psutil.Process(pid).threads()
    pinned = 0
    for thread in threads:
        with contextlib.suppress(OSError):
            pinned += os.sched_getaffinity(thread.id) == {core}
    return {"threads": len(threads), "pinned_to_engine_core": pinned}


# --------------------------------------------------------------------------------------------
# Participants
# --------------------------------------------------------------------------------------------


def encode_tone(hz: float, level_dbfs: float) -> list[bytes]:
    """2.5 s of Opus packets of a steady tone, as aiortc's encoder makes them, to be looped.

    3 s are encoded and the first 0.5 s dropped (the encoder settling); `hz` must make whole
    periods in 2.5 s, so the last packet runs on into the first without a seam.
    """
    import av
    import numpy as np
    from aiortc.codecs.opus import OpusEncoder

    if (hz * LOOP_FRAMES * FRAME_SAMPLES) % RATE:
        raise BenchError(f"{hz} Hz does not make whole periods in the loop")
    encoder = OpusEncoder()
    amplitude = 32767 * 10 ** (level_dbfs / 20)
    payloads: list[bytes] = []
    for index in range(LOOP_FRAMES + 25):
        t = (index * FRAME_SAMPLES + np.arange(FRAME_SAMPLES)) / RATE
        samples = (np.sin(2 * np.pi * hz * t) * amplitude).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = index * FRAME_SAMPLES
        frame.time_base = fractions.Fraction(1, RATE)
        encoded, _ = encoder.encode(frame)
        payloads.extend(encoded)
    if len(payloads) != LOOP_FRAMES + 25:
        raise BenchError(f"aiortc's encoder made {len(payloads)} packets of {LOOP_FRAMES + 25} frames")
    return payloads[25:]


def participant_class() -> type:
    """The participant class (aiortc and the test helpers are imported only when needed)."""
    import av
    import numpy as np
    from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

    from tests.audio import Client

    opus_loop_track, _ = make_tracks()

    class Participant(Client):
        """Sends its tone; keeps when each decoded frame arrived, its RTP time, and the last second."""

        def __init__(self, hz: float, payloads: list[bytes]) -> None:
            super().__init__(hz)
            self.pc.getTransceivers()[0].sender.replaceTrack(opus_loop_track(payloads))
            self.arrivals: list[float] = []
            self.stamps: list[int] = []
            self.recent: collections.deque[av.AudioFrame] = collections.deque(maxlen=ANALYSIS_FRAMES)

        async def read(self, track: MediaStreamTrack) -> None:
            while True:
                try:
                    frame = await track.recv()
                except MediaStreamError:
                    return
                if not isinstance(frame, av.AudioFrame):
                    continue
                self.arrivals.append(time.monotonic())
                self.stamps.append(int(frame.pts or 0))
                self.recent.append(frame)

        def last_second(self) -> np.ndarray:
            def mono(frame: av.AudioFrame) -> np.ndarray:
                samples = frame.to_ndarray()
                if frame.format.is_planar:
                    return samples[0]
                return samples.reshape(-1, len(frame.layout.channels))[:, 0]

            if not self.recent:
                return np.zeros(0, dtype=np.int16)
            return np.concatenate([mono(frame) for frame in self.recent])

    return Participant


def tone_levels(samples: Any, frequencies: list[float]) -> list[float]:
    """The level (dBFS of its amplitude, ±10 Hz) of each frequency, from one FFT."""
    import math

    import numpy as np

    from tests.audio import spectrum

    if samples.size < RATE // 2:
        return [-120.0 for _ in frequencies]
    bins, magnitude = spectrum(samples)
    levels = []
    for hz in frequencies:
        amplitude = float(magnitude[np.abs(bins - hz) <= 10].max())
        levels.append(20 * math.log10(max(amplitude, 1e-6)))
    return levels


@dataclass
class Member:
    index: int
    leg_id: str
    phone: Any

    @property
    def hz(self) -> float:
        return tone_hz(self.index)


@dataclass
class Room:
    args: argparse.Namespace
    deadline: Deadline
    engine: Engine
    participant: type
    members: list[Member] = field(default_factory=list)
    payloads: dict[float, list[bytes]] = field(default_factory=dict)
    orphans: list[Any] = field(default_factory=list)  # phones of failed joins, closed at the end
    serials: itertools.count[int] = field(default_factory=itertools.count)
    failures: list[str] = field(default_factory=list)
    idle_cpu_pct: float = 0.0

    def timeout(self) -> float:
        return self.deadline.left(self.args.step_timeout)

    def free_index(self, taken: set[int]) -> int:
        return next(index for index in itertools.count() if index not in taken)

    async def join(self, index: int) -> Member:
        """A new participant with tone `index`, connected to the engine (not yet bridged)."""
        hz = tone_hz(index)
        if hz not in self.payloads:
            self.payloads[hz] = encode_tone(hz, self.args.tone_dbfs)
        phone = self.participant(hz, self.payloads[hz])
        leg_id = f"p{index}-{next(self.serials)}"
        try:
            offer = await phone.offer()
            answer = await self.engine.request("create_leg", leg_id=leg_id, sdp=offer, timeout=self.timeout())
            await phone.accept(loopback_only(str(answer)))
            await asyncio.wait_for(phone.connected.wait(), timeout=self.timeout())
        except BaseException:
            self.orphans.append(phone)
            with contextlib.suppress(Exception):
                await self.engine.request("hangup", leg_ids=[leg_id], timeout=self.timeout())
            raise
        return Member(index, leg_id, phone)

    async def leave(self, members: list[Member]) -> None:
        try:
            await self.engine.request("hangup", leg_ids=[m.leg_id for m in members], timeout=self.timeout())
        finally:
            await close_phones([member.phone for member in members])

    async def ensure(self, target: int) -> int:
        """Join or hang up participants until `target` are in the room; how many joined."""
        if len(self.members) > target:
            leaving = self.members[target:]
            del self.members[target:]
            await self.leave(leaving)
        joined = 0
        attempts = 0
        while len(self.members) < target:
            attempts += 1
            if attempts > target + 10:
                raise BenchError(f"could not get {target} participants into the room: {self.failures[-3:]}")
            taken = {member.index for member in self.members}
            batch: list[int] = []
            for _ in range(min(self.args.ramp_concurrency, target - len(self.members))):
                batch.append(self.free_index(taken | set(batch)))
            results = await asyncio.gather(*(self.join(index) for index in batch), return_exceptions=True)
            added = [result for result in results if isinstance(result, Member)]
            for result in results:
                if not isinstance(result, Member):
                    self.failures.append(f"join: {type(result).__name__}: {result}"[:300])
            if added:
                await self.engine.request(
                    "bridge", bridge_id=ROOM, leg_ids=[m.leg_id for m in added], timeout=self.timeout()
                )
                self.members.extend(added)
                self.members.sort(key=lambda member: member.index)
                joined += len(added)
        return joined

    async def prune(self) -> int:
        """Drop the participants whose leg failed or closed, or whose PeerConnection did; how many."""
        gone = self.engine.lost_legs()
        lost = [
            member
            for member in self.members
            if member.leg_id in gone or member.phone.pc.connectionState in ("closed", "failed")
        ]
        for member in lost:
            self.members.remove(member)
            self.failures.append(
                f"{member.leg_id} lost: leg {'ended' if member.leg_id in gone else 'up'}, "
                f"client PeerConnection {member.phone.pc.connectionState}"
            )
        if lost:
            with contextlib.suppress(BenchError):
                await self.leave(lost)
        return len(lost)


# --------------------------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------------------------


def hearing(room: Room) -> dict[str, Any]:
    """Whether each participant hears every other one's tone and not its own, over its last second."""
    frequencies = [member.hz for member in room.members]
    weakest_other: list[float] = []
    own_levels: list[float] = []
    margins: list[float] = []
    pairs_not_heard = 0
    hearing_own = 0
    for position, member in enumerate(room.members):
        levels = tone_levels(member.phone.last_second(), frequencies)
        others = [level for index, level in enumerate(levels) if index != position]
        if not others:
            continue
        weakest = min(others)
        weakest_other.append(weakest)
        own_levels.append(levels[position])
        margins.append(weakest - levels[position])
        pairs_not_heard += sum(1 for level in others if level < room.args.hear_dbfs)
        hearing_own += levels[position] > weakest - OWN_TONE_MARGIN_DB
    return {
        "pairs_not_heard": pairs_not_heard,
        "participants_hearing_own_tone": hearing_own,
        "weakest_other_tone_dbfs": rounded(min(weakest_other) if weakest_other else None),
        "weakest_other_tone_dbfs_median": rounded(percentile(weakest_other, 0.5)),
        "loudest_own_tone_dbfs": rounded(max(own_levels) if own_levels else None),
        "own_tone_margin_db_min": rounded(min(margins) if margins else None),  # below the weakest other
    }


async def measure(room: Room, level: int, baseline_rss: int) -> dict[str, Any]:
    """The window: engine CPU, RSS and lag; every participant's frames and jitter; what each hears."""
    seconds = room.args.window
    engine_pid = room.engine.process.pid
    lags: list[float] = []
    lag_task = asyncio.create_task(loop_lag(lags))
    await room.engine.request("lag", timeout=room.timeout())  # restarts the engine's lag samples
    pids = {"engine": engine_pid, "clients": os.getpid()}
    cpu_before = {name: process_cpu(pid) for name, pid in pids.items()}
    everyone_before = cpu_by_process()
    start = time.monotonic()
    await asyncio.sleep(seconds)
    end = time.monotonic()
    cpu_after = {name: process_cpu(pid) for name, pid in pids.items()}
    everyone_after = cpu_by_process()
    engine_lag = await room.engine.request("lag", timeout=room.timeout())
    lag_task.cancel()
    rss = rss_bytes([engine_pid])
    wall = end - start
    cpu_pct = {name: (cpu_after[name] - cpu_before[name]) / wall * 100 for name in pids}
    ours = set(pids.values())
    others = sum(used - everyone_before.get(pid, 0.0) for pid, used in everyone_after.items() if pid not in ours)

    timings = [leg_timing(m.phone.arrivals, m.phone.stamps, start, end) for m in room.members]
    fps = [timing["fps"] for timing in timings]
    jitter = [timing["jitter_ms_max"] for timing in timings]
    heard = hearing(room)
    below = sum(1 for value in fps if value < MIN_FPS)
    jittery = sum(1 for value in jitter if value >= MAX_JITTER_MS)
    present = len(room.members)
    lost = await room.prune()
    held = (
        lost == 0
        and present == level
        and below == 0
        and jittery == 0
        and heard["pairs_not_heard"] == 0
        and heard["participants_hearing_own_tone"] == 0
    )
    return {
        "participants_present": present,
        "window_seconds": round(wall, 2),
        "engine_cpu_pct": round(cpu_pct["engine"], 1),
        "cpu_pct_per_participant": round(cpu_pct["engine"] / level, 2),
        "engine_loop_lag_ms_p99": rounded(engine_lag["p99"]),
        "engine_loop_lag_ms_max": rounded(engine_lag["max"]),
        "engine_full_collections": engine_lag["full_collections"],
        "engine_full_collection_ms_max": rounded(engine_lag["full_collection_ms_max"]),
        "engine_rss_mb": round(rss / 2**20, 1),
        "memory_mb_per_participant": round((rss - baseline_rss) / 2**20 / level, 2),
        "fps_min": rounded(min(fps) if fps else None),
        "fps_mean": rounded(sum(fps) / len(fps) if fps else None),
        "jitter_ms_max": rounded(max(jitter) if jitter else None),
        "gap_ms_max": rounded(max(timing["gap_ms_max"] for timing in timings) if timings else None),
        "participants_below_48_fps": below,
        "participants_jitter_20_ms_or_more": jittery,
        **heard,
        "participants_lost": lost,
        "held": held,
        "client_cpu_pct": round(cpu_pct["clients"], 1),
        "client_loop_lag_ms_p99": rounded(percentile(lags, 0.99)),
        "client_loop_lag_ms_max": rounded(max(lags) if lags else None),
        "client_saturated": cpu_pct["clients"] >= CLIENT_SATURATED_PCT,
        "others_cpu_pct": round(others / wall * 100, 1),
    }


SUMMARY_KEYS = (
    "participants",
    "held",
    "engine_cpu_pct",
    "cpu_pct_per_participant",
    "engine_loop_lag_ms_p99",
    "fps_min",
    "jitter_ms_max",
    "pairs_not_heard",
    "participants_hearing_own_tone",
    "weakest_other_tone_dbfs",
    "loudest_own_tone_dbfs",
    "own_tone_margin_db_min",
    "participants_lost",
    "client_cpu_pct",
    "client_saturated",
    "others_cpu_pct",
)


def blame(result: dict[str, Any]) -> str:
    """What a level that did not hold measured: the engine, unless the clients or others were busy."""
    if result["client_saturated"]:
        return "client"
    if result["others_cpu_pct"] > OTHERS_TOLERATED_PCT:
        return "other processes"
    return "engine"


async def wait_until_quiet(room: Room) -> float | None:
    """Wait until the other processes of the machine use < 15 % of a core over 3 s; how long it took.

    None: they were still busy after ``--quiet-timeout`` seconds (the measurement goes on).
    """
    began = time.monotonic()
    timeout = room.deadline.left(room.args.quiet_timeout)
    ours = {room.engine.process.pid, os.getpid()}
    while True:
        before, start = cpu_by_process(), time.monotonic()
        await asyncio.sleep(3)
        after, wall = cpu_by_process(), time.monotonic() - start
        others = sum(used - before.get(pid, 0.0) for pid, used in after.items() if pid not in ours) / wall * 100
        if others < OTHERS_TOLERATED_PCT:
            return round(time.monotonic() - began, 1)
        if time.monotonic() - began > timeout:
            return None
        log(f"other processes use {others:.0f} % of a core; waiting")


async def run_level(room: Room, level: int, baseline_rss: int) -> dict[str, Any]:
    started = time.monotonic()
    report: dict[str, Any] = {"participants": level, "participants_lost_before": await room.prune()}
    report["participants_joined"] = await room.ensure(level)
    log(
        f"level {level}: {len(room.members)} in the room; "
        f"settling {room.args.settle:g} s, window {room.args.window:g} s"
    )
    await asyncio.sleep(room.args.settle)
    report["waited_for_quiet_seconds"] = await wait_until_quiet(room)
    report.update(await measure(room, level, baseline_rss))
    busy: list[dict[str, Any]] = []
    while (
        not report["held"]
        and report["others_cpu_pct"] > OTHERS_TOLERATED_PCT
        and report["participants_lost"] == 0
        and len(busy) < room.args.busy_retries
    ):
        log(f"level {level}: other processes used {report['others_cpu_pct']} % of a core; measuring again")
        busy.append({key: report[key] for key in SUMMARY_KEYS if key in report})
        await wait_until_quiet(room)
        report.update(await measure(room, level, baseline_rss))
    if busy:
        report["busy_measurements"] = busy
    report["level_seconds"] = round(time.monotonic() - started, 1)
    log(
        f"level {level}: held={report['held']} engine {report['engine_cpu_pct']} % "
        f"({report['cpu_pct_per_participant']} %/participant) fps min {report['fps_min']} "
        f"jitter max {report['jitter_ms_max']} ms, not heard {report['pairs_not_heard']}, "
        f"own {report['participants_hearing_own_tone']}, clients {report['client_cpu_pct']} %"
    )
    return report


async def run_room(args: argparse.Namespace, deadline: Deadline, engine: Engine, report: dict[str, Any]) -> None:
    from toc.media.engine import restrict_host_addresses

    restrict_host_addresses(["127.0.0.1"])  # before any PeerConnection: ICE gathers 127.0.0.1 only
    await engine.start(deadline.left(60))
    room = Room(args=args, deadline=deadline, engine=engine, participant=participant_class())
    try:
        log("warm-up: two participants for 2 s")
        await room.ensure(2)
        await asyncio.sleep(2)
        await room.ensure(0)
        await asyncio.sleep(1)
        baseline_rss = rss_bytes([engine.process.pid])
        report["engine_rss_mb_baseline"] = round(baseline_rss / 2**20, 1)
        idle_from, idle_cpu = time.monotonic(), process_cpu(engine.process.pid)
        await asyncio.sleep(3)
        room.idle_cpu_pct = (process_cpu(engine.process.pid) - idle_cpu) / (time.monotonic() - idle_from) * 100
        report["engine_cpu_pct_idle"] = round(room.idle_cpu_pct, 1)

        levels: list[dict[str, Any]] = []
        held_last: int | None = None
        failed_first: int | None = None
        limited_by = "not reached"
        for level in range(args.start, args.max + 1, args.step):
            result = await run_level(room, level, baseline_rss)
            levels.append(result)
            if not result["held"]:
                failed_first = level
                limited_by = blame(result)
                break
            held_last = level
            if result["client_saturated"]:
                limited_by = "client"  # a higher level would measure the participants' core
                break
        if failed_first is not None:  # between the last level that held and the first that failed
            for level in range(args.start if held_last is None else held_last + 1, failed_first):
                log(f"capacity: refining at {level} participants")
                result = await run_level(room, level, baseline_rss)
                result["refining"] = True
                levels.append(result)
                if not result["held"]:
                    limited_by = blame(result)
                    break
                held_last = level
        report["levels"] = levels
        report["max_participants_one_room"] = held_last
        report["first_failure"] = failed_first
        report["limited_by"] = limited_by
        at_max = [result for result in levels if result["participants"] == held_last and result["held"]]
        report["cpu_pct_per_participant"] = at_max[-1]["cpu_pct_per_participant"] if at_max else None
        report["engine_cpu_pct_at_max"] = at_max[-1]["engine_cpu_pct"] if at_max else None
        report["engine_threads"] = engine_threads(engine.process.pid, args.engine_core)
    finally:
        report["join_failures"] = room.failures[:20]
        log("closing the participants and the engine")
        await close_phones([member.phone for member in room.members] + room.orphans)
        await engine.close(timeout=30)


# --------------------------------------------------------------------------------------------
# Coordinator
# --------------------------------------------------------------------------------------------


def logged(log_path: Path, levels: tuple[str, ...]) -> dict[str, int]:
    """What the engine logged at these levels, by message (first 120 characters)."""
    counts: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            if any(f" {level} " in line for level in levels):
                message = line.split(" ", 4)[-1][:120]
                counts[message] = counts.get(message, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: -item[1])[:20])


def run(args: argparse.Namespace) -> dict[str, Any]:
    began = time.monotonic()
    deadline = Deadline(args.timeout)
    raise_open_files_limit()
    cores = os.sched_getaffinity(0)
    if args.engine_core not in cores or args.client_core not in cores or args.engine_core == args.client_core:
        raise BenchError(f"need two distinct cores among {sorted(cores)} for the engine and the participants")
    log_dir = Path(tempfile.mkdtemp(prefix="toc-conference-"))
    log_path = log_dir / "engine.log"
    report: dict[str, Any] = {
        "levels_requested": f"{args.start}, {args.start + args.step}, ... up to {args.max}",
        "window_seconds": args.window,
        "settle_seconds": args.settle,
        "tone_dbfs": args.tone_dbfs,
        "hear_dbfs": args.hear_dbfs,
        "own_tone_margin_db": OWN_TONE_MARGIN_DB,
        "client_audio": "pre-encoded Opus packets, looped; participant i sends 330 + 100 i Hz",
        "engine_core": args.engine_core,
        "client_core": args.client_core,
        "load_average_before": [round(value, 2) for value in os.getloadavg()],
    }
    if args.note:
        report["note"] = args.note
    process: subprocess.Popen[bytes] | None = None
    try:
        process = start_engine(args, log_path)  # stopped in finally
        os.sched_setaffinity(0, {args.client_core})
        try:
            asyncio.run(guarded(run_room(args, deadline, Engine(process), report), deadline.left()))
        finally:
            signal.signal(signal.SIGTERM, on_sigterm)  # closing the loop reset it to the default
    except (BenchError, TimeoutError, OSError, subprocess.SubprocessError) as error:
        report["error"] = f"{type(error).__name__}: {error}"
        report["engine_log_tail"] = tail(log_path, 10)
    except (KeyboardInterrupt, Interrupted, asyncio.CancelledError):
        report["error"] = "interrupted"
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the teardown short
        if process is not None:
            stop_process(process)  # by its PID; it has normally exited already
            report["engine_exit_code"] = process.returncode
        report["engine_errors"] = logged(log_path, ("ERROR", "CRITICAL"))
        report["engine_warnings"] = logged(log_path, ("WARNING",))
        if args.keep_logs:
            keep = Path(args.keep_logs)
            keep.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(OSError):
                shutil.copy(log_path, keep / log_path.name)
        shutil.rmtree(log_dir, ignore_errors=True)
    most = report.get("max_participants_one_room")
    report["goal"] = {"participants_one_room_one_core": GOAL_PARTICIPANTS}
    report["goal_met"] = "error" not in report and most is not None and most >= GOAL_PARTICIPANTS
    report["machine"] = {**machine_info(), "packages": versions()}
    report["date"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    report["source"] = source_revision()
    report["duration_seconds"] = round(time.monotonic() - began, 1)
    report["command"] = " ".join([".venv/bin/python", "bench/conference.py", *sys.argv[1:]])
    return report


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--start", type=int, default=5, help="first level, in participants (default 5)")
    parser.add_argument("--step", type=int, default=5, help="participants added per level (default 5)")
    parser.add_argument(
        "--max", type=int, default=40, help=f"highest level (default 40, at most {HIGHEST_PARTICIPANTS})"
    )
    parser.add_argument("--window", type=float, default=10, help="measurement window (s, default 10)")
    parser.add_argument("--settle", type=float, default=5, help="pause before each window (s, default 5)")
    parser.add_argument("--tone-dbfs", type=float, default=-30, help="each participant's tone level (default -30)")
    parser.add_argument("--hear-dbfs", type=float, default=-45, help="a tone is heard above this level (default -45)")
    parser.add_argument("--ramp-concurrency", type=int, default=5, help="participants joining at once (default 5)")
    parser.add_argument("--engine-core", type=int, default=0, help="the engine's core (default 0)")
    parser.add_argument("--client-core", type=int, default=1, help="the participants' core (default 1)")
    parser.add_argument("--step-timeout", type=float, default=15, help="wait for one step, e.g. a join (s)")
    parser.add_argument("--quiet-timeout", type=float, default=300, help="wait for a quiet machine at most (s)")
    parser.add_argument("--busy-retries", type=int, default=3, help="re-measure a level failed while others ran")
    parser.add_argument("--timeout", type=float, default=2400, help="the whole run at most (s)")
    parser.add_argument("--keep-logs", default="", metavar="DIR", help="copy the engine's log here")
    parser.add_argument("--note", default="", help="a remark stored in the report (e.g. what code was measured)")
    parser.add_argument("--json", action="store_true", help="print only the JSON report")
    parser.add_argument("--engine", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if min(args.start, args.step, args.max, args.ramp_concurrency) < 1:
        parser.error("--start, --step, --max and --ramp-concurrency must be at least 1")
    if args.max > HIGHEST_PARTICIPANTS:
        parser.error(f"--max is at most {HIGHEST_PARTICIPANTS} (each participant needs its own tone)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.engine:
        engine_entry(args.engine_core)
        return 0
    signal.signal(signal.SIGTERM, on_sigterm)
    return print_report(run(args), as_json=args.json)


if __name__ == "__main__":
    sys.exit(main())
