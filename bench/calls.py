"""Softphone calls through the real stack: call set-up, answer-to-audio, media worker capacity.

Usage (from the repository root; a full run takes 3-4 minutes):

    .venv/bin/python bench/calls.py --calls 1,10,20 --json

Method
------
1. Setup (helpers shared with ``bench/presence_fanout.py``). Creates a PostgreSQL database of
   its own (default ``toc_bench_calls`` on 127.0.0.1:5432, user postgres), migrates, and in a
   subprocess with Django loaded creates one organisation (ring timeout 3600 s, so no call
   times out while it rings) and 2 users per call slot with extensions 2000, 2001, ... and a
   DRF token each. Flushes its own Redis database (default ``redis://127.0.0.1:6379/7``).
2. Servers, each a subprocess bound to 127.0.0.1, with ``DEBUG=false``, the production
   settings, ``MEDIA_HOST_ADDRESSES=127.0.0.1`` and ``MEDIA_ALLOWED_NETWORKS=127.0.0.0/8``:
   one daphne process (not pinned) and ``manage.py media_worker --cpu 0 --capacity 200``
   (pinned to core 0 by itself). No Celery worker: ring timeouts are queued but never run.
3. Clients. This process pins itself to core 1 and plays every softphone: one event socket
   (``/ws/events/?token=``) per user and one aiortc PeerConnection per leg, with
   ``RTCConfiguration(iceServers=[])`` and ICE restricted to 127.0.0.1 (the engine's
   answer is checked to hold loopback candidates only). Each client sends its own tone
   (caller of slot s: 600 + 200 s Hz, its callee 100 Hz higher) as Opus packets encoded once
   at start-up by aiortc's own encoder and looped (``--live-encode`` encodes every frame, as a
   browser would, which costs the client core about twice as much); it decodes everything it
   receives, like a softphone.
4. A call: the caller sends ``call.place`` with its offer, sets the engine's ``call.sdp`` and
   waits until its PeerConnection is connected (it hears ringback); then the callee sends
   ``call.answer`` with its offer and sets its ``call.sdp``.
   - ``setup_ms``: caller's ``call.place`` written → callee's socket has ``call.updated``
     with state ``ringing``.
   - ``answer_to_audio_ms``: callee's ``call.answer`` written → both ends hear the other's
     tone: for each decoded frame, the last 100 ms (5 frames) hold the peer's frequency
     (±10 Hz, FFT, Hann window) above -30 dBFS. aiortc's audio jitter buffer holds 4 frames
     (80 ms) before it decodes, so that much of the figure is the client's.
     ``answer_phases_ms_p50`` says when each step was done: ``call.accepted``, the engine's
     ``call.sdp``, the callee's PeerConnection connected, its first decoded frame, each end
     hearing the other.
   Timestamps are CLOCK_MONOTONIC in this one process, taken when the event loop reads the
   message or the decoded frame.
5. Levels. Levels are visited in ascending order; calls stay up from one level to the next.
   At level N: calls are added (``--ramp-concurrency`` at a time) until N-1 are up; at the
   requested ``--calls`` levels ``--probes`` probe calls are then made one after another
   (placed, answered, heard both ways, hung up; the last one stays up), so set-up and
   answer-to-audio are measured while N-1 other calls carry audio. Then, after
   ``--settle`` seconds, a ``--window`` second window with N calls up:
   - every client leg: decoded frames per second, and RFC 3550 inter-arrival jitter of the
     decoded frames (arrival time against RTP timestamp, J += (|D| - J) / 16; the worst J in
     the window counts). At the end of the window each leg must still hear its peer's tone;
   - ``cpu_pct_per_call``: media worker CPU (all threads, % of one core) / N
     (``worker_cpu_pct_idle``: the same with no call, measured after the warm-up calls);
   - ``memory_mb_per_call``: (worker RSS now - RSS after the warm-up calls, before any
     level) / N;
   - the clients' own health: this process's CPU % of core 1 and its event-loop lag. A
     level where the clients use 85 % of their core or more is marked ``client_saturated``;
   - ``others_cpu_pct``: every other process of the machine, % of one core. A level that
     fails while others used more than 15 % is measured once more.
   A call is *lost* when the server ended it, or when a client's PeerConnection closed or
   failed while the server still has the call up (the bench then hangs it up). A level
   *holds* when no call was lost, every leg gets >= 48 frames/s with jitter < 20 ms, and
   every leg hears its peer.
6. Capacity: levels 10, 15, 20, ... (``--search-start``, ``--search-step``) up to
   ``--max-calls`` until one does not hold; then at once (before any higher requested level)
   the levels between the last that held and the first that failed, one call at a time
   (calls are hung up to go back down).
   ``max_calls_per_worker`` is the largest level that held below the first failure. If the
   clients were saturated when a level failed, the failure cannot be blamed on the worker
   and the figure is a lower bound (``max_calls_limited_by``: ``client``).
7. Teardown (always, in ``finally``): phones closed, sockets closed 10 at a time (a burst of
   ~100 disconnects exhausts daphne's Redis connection pool), the media worker and daphne
   stopped by their PIDs, the database dropped (unless ``--keep``) and the Redis database
   flushed. ``server_errors`` / ``server_warnings`` count what the servers logged during the
   run, ``server_errors_at_teardown`` what they logged after; ``--keep-logs DIR`` keeps the
   logs. Every wait has a timeout and ``--timeout`` bounds the whole run.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import collections
import contextlib
import datetime
import fractions
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `bench`, `tests` and `toc` importable
    sys.path.insert(0, str(ROOT))

from bench.presence_fanout import (  # noqa: E402
    BenchError,
    Deadline,
    Interrupted,
    Server,
    clean_up_stores,
    create_database,
    flush_redis,
    guarded,
    log,
    machine_info,
    on_sigterm,
    percentile,
    print_report,
    raise_open_files_limit,
    rounded,
    rss_bytes,
    run_step,
    server_env,
    source_revision,
    spawn,
    start_servers,
    stop_process,
    tail,
)

THIS_FILE = Path(__file__).resolve()
ORG_SLUG = "bench-calls"
EMAIL_DOMAIN = "calls.example.com"
FIRST_EXTENSION = 2000
RING_TIMEOUT_SECONDS = 3600
RATE = 48_000
FRAME_SAMPLES = 960  # 20 ms
DETECT_FRAMES = 5  # 100 ms sliding window
TONE_MIN_DBFS = -30.0
MIN_FPS = 48.0
MAX_JITTER_MS = 20.0
CLIENT_SATURATED_PCT = 85.0
OTHERS_TOLERATED_PCT = 15.0  # CPU % (of one core) used by other processes before a failed level is re-measured
GOALS = {"setup_ms_p95": 300.0, "answer_to_audio_ms_p95": 500.0, "calls_per_worker_core": 12}


# --------------------------------------------------------------------------------------------
# Setup (subprocess with Django loaded): organisation, users with extensions, tokens
# --------------------------------------------------------------------------------------------


def seed(users: int) -> None:
    import django

    django.setup()
    from rest_framework.authtoken.models import Token

    from toc.accounts import services as account_services
    from toc.accounts.models import Organisation, User
    from toc.presence.models import Connection

    organisation = Organisation.objects.filter(slug=ORG_SLUG).first() or account_services.create_organisation(
        name="Bench calls", slug=ORG_SLUG
    )
    Organisation.objects.filter(pk=organisation.pk).update(ring_timeout_seconds=RING_TIMEOUT_SECONDS)
    by_extension = {user.extension: user for user in User.objects.filter(organisation=organisation)}
    rows = []
    for number in range(users):
        extension = str(FIRST_EXTENSION + number)
        user = by_extension.get(extension) or account_services.create_user(
            organisation=organisation,
            email=f"phone{extension}@{EMAIL_DOMAIN}",
            password=None,
            first_name="Phone",
            last_name=extension,
            extension=extension,
        )
        token, _ = Token.objects.get_or_create(user=user)
        rows.append([user.pk, token.key, extension])
    Connection.objects.filter(organisation=organisation).delete()  # left by an interrupted --keep run
    print(json.dumps({"users": rows}))


# --------------------------------------------------------------------------------------------
# Softphones: an aiortc PeerConnection that sends a tone and times what it decodes
# --------------------------------------------------------------------------------------------


def encode_tone(hz: float, seconds: float = 3.0) -> list[bytes]:
    """Opus packets of a steady tone, as aiortc's encoder makes them (the first 0.5 s dropped)."""
    import av
    import numpy as np
    from aiortc.codecs.opus import OpusEncoder

    encoder = OpusEncoder()
    t = np.arange(FRAME_SAMPLES) / RATE  # whole periods per frame: frequencies are multiples of 50 Hz
    samples = (np.sin(2 * np.pi * hz * t) * 32767 * 10 ** (-9 / 20)).astype(np.int16).reshape(1, -1)
    payloads: list[bytes] = []
    for index in range(int(seconds * RATE / FRAME_SAMPLES)):
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = index * FRAME_SAMPLES
        frame.time_base = fractions.Fraction(1, RATE)
        encoded, _ = encoder.encode(frame)
        payloads.extend(encoded)
    return payloads[25:]


def make_tracks() -> tuple[type, type]:
    """The track and phone classes (aiortc and the test helpers are imported only when needed)."""
    import av
    import numpy as np
    from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

    from tests.audio import Client, tone_dbfs

    class OpusLoopTrack(MediaStreamTrack):
        """Pre-encoded Opus packets, looped, paced in real time like a microphone."""

        kind = "audio"

        def __init__(self, payloads: list[bytes]) -> None:
            super().__init__()
            self.payloads = payloads
            self.index = 0
            self.start: float | None = None

        async def recv(self) -> av.Packet:
            if self.readyState != "live":
                raise MediaStreamError
            if self.start is None:
                self.start = time.monotonic()
            else:
                self.index += 1
                await asyncio.sleep(max(0.0, self.start + self.index * FRAME_SAMPLES / RATE - time.monotonic()))
            packet = av.Packet(self.payloads[self.index % len(self.payloads)])
            packet.pts = self.index * FRAME_SAMPLES
            packet.time_base = fractions.Fraction(1, RATE)
            return packet

    def mono(frame: av.AudioFrame) -> np.ndarray:
        samples = frame.to_ndarray()
        if frame.format.is_planar:
            return samples[0]
        return samples.reshape(-1, len(frame.layout.channels))[:, 0]

    class Phone(Client):
        """A softphone leg: sends its tone; records when each decoded frame arrived, and its RTP time."""

        def __init__(self, hz: float, payloads: list[bytes] | None) -> None:
            super().__init__(hz)
            if payloads is not None:
                self.pc.getTransceivers()[0].sender.replaceTrack(OpusLoopTrack(payloads))
            self.arrivals: list[float] = []
            self.stamps: list[int] = []
            self.recent: collections.deque[av.AudioFrame] = collections.deque(maxlen=DETECT_FRAMES)
            self.listen_hz = 0.0
            self.heard_at: asyncio.Future[float] | None = None
            self.connected_at: float | None = None

        def on_state(self) -> None:
            if self.pc.connectionState == "connected" and self.connected_at is None:
                self.connected_at = time.monotonic()
            super().on_state()

        def listen_for(self, hz: float) -> asyncio.Future[float]:
            """A future set to the arrival time of the first frame that completes 100 ms of `hz`."""
            self.listen_hz = hz
            self.heard_at = asyncio.get_running_loop().create_future()
            return self.heard_at

        def hears(self, hz: float) -> bool:
            return len(self.recent) == DETECT_FRAMES and tone_dbfs(self.window(), hz) > TONE_MIN_DBFS

        def window(self) -> np.ndarray:
            return np.concatenate([mono(frame) for frame in self.recent])

        async def read(self, track: MediaStreamTrack) -> None:
            while True:
                try:
                    frame = await track.recv()
                except MediaStreamError:
                    return
                now = time.monotonic()
                if not isinstance(frame, av.AudioFrame):
                    continue
                self.arrivals.append(now)
                self.stamps.append(int(frame.pts or 0))
                self.recent.append(frame)
                waiting = self.heard_at
                if waiting is not None and not waiting.done() and self.hears(self.listen_hz):
                    waiting.set_result(now)

    return OpusLoopTrack, Phone


def rtp_delta(later: int, earlier: int) -> int:
    """Difference of two 32-bit RTP timestamps (wrap-around safe)."""
    delta = (later - earlier) % 2**32
    return delta - 2**32 if delta >= 2**31 else delta


def leg_timing(arrivals: list[float], stamps: list[int], start: float, end: float) -> dict[str, float]:
    """Frames per second, RFC 3550 jitter (worst and mean of J in the window) and the longest gap."""
    first = bisect.bisect_left(arrivals, start)
    last = bisect.bisect_right(arrivals, end)
    jitter = 0.0
    worst = 0.0
    total = 0.0
    gap = 0.0
    # J is a running estimate: start it 100 frames before the window so it has settled.
    for index in range(max(1, first - 100), last):
        arrival_step = arrivals[index] - arrivals[index - 1]
        transit_change = arrival_step - rtp_delta(stamps[index], stamps[index - 1]) / RATE
        jitter += (abs(transit_change) - jitter) / 16
        if index >= first:
            worst = max(worst, jitter)
            total += jitter
            if index > first:
                gap = max(gap, arrival_step)
    frames = last - first
    return {
        "fps": frames / (end - start),
        "jitter_ms_max": worst * 1000,
        "jitter_ms_mean": (total / frames * 1000) if frames else 0.0,
        "gap_ms_max": gap * 1000,
    }


# --------------------------------------------------------------------------------------------
# Event sockets
# --------------------------------------------------------------------------------------------


class Session:
    """One user's event socket: keeps the call messages it receives, each with its arrival time."""

    def __init__(self, user_id: int, extension: str, ws: Any) -> None:
        self.user_id = user_id
        self.extension = extension
        self.ws = ws
        self.history: list[tuple[float, dict[str, Any]]] = []
        self.changed = asyncio.Event()
        self.ended: set[str] = set()
        self.closed: str | None = None
        self.tasks: list[asyncio.Task[None]] = []

    @classmethod
    async def open(cls, port: int, user_id: int, token: str, extension: str, timeout: float) -> Session:
        from websockets.asyncio.client import connect
        from websockets.typing import Origin

        ws = await connect(
            f"ws://127.0.0.1:{port}/ws/events/?token={token}",
            origin=Origin(f"http://127.0.0.1:{port}"),
            open_timeout=timeout,
            ping_interval=None,
            compression=None,
            proxy=None,
            close_timeout=2,
            max_queue=None,
        )
        hello = json.loads(await asyncio.wait_for(ws.recv(), timeout=timeout))
        if hello.get("type") != "realtime.connected":
            ws.transport.abort()
            raise BenchError(f"unexpected first message {hello!r}")
        session = cls(user_id, extension, ws)
        session.tasks = [asyncio.create_task(session._read())]
        heartbeat = float(hello.get("heartbeat_seconds") or 0)
        if heartbeat > 0:
            session.tasks.append(asyncio.create_task(session._ping(heartbeat)))
        return session

    async def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in self.ws:
                now = time.monotonic()
                message = json.loads(raw)
                kind = str(message.get("type", ""))
                if not kind.startswith("call.") and kind != "realtime.error":
                    continue  # presence and history events
                if kind == "call.updated" and message["call"]["state"] == "ended":
                    self.ended.add(str(message["call"]["id"]))
                self.history.append((now, message))
                self.changed.set()
        except ConnectionClosed as error:
            self.closed = f"socket closed: {error}"
        finally:
            self.closed = self.closed or "socket closed"
            self.changed.set()

    async def _ping(self, every: float) -> None:
        with contextlib.suppress(Exception):
            while True:
                await asyncio.sleep(every)
                await self.ws.send('{"type":"ping"}')

    def mark(self) -> int:
        return len(self.history)

    async def send(self, message: dict[str, Any]) -> float:
        """Send a message; returns the moment just before it was written."""
        sent_at = time.monotonic()
        await self.ws.send(json.dumps(message))
        return sent_at

    async def expect(
        self, match: Callable[[dict[str, Any]], bool], since: int, timeout: float, what: str
    ) -> tuple[float, dict[str, Any]]:
        """The first message since index `since` that matches, with its arrival time."""
        deadline = time.monotonic() + timeout
        index = since
        while True:
            while index < len(self.history):
                arrived, message = self.history[index]
                index += 1
                if match(message):
                    return arrived, message
            if self.closed:
                raise BenchError(f"extension {self.extension}: {self.closed} while waiting for {what}")
            self.changed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BenchError(f"extension {self.extension}: no {what} within {timeout:g} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), timeout=remaining)

    async def reply(self, request_id: str, since: int, timeout: float, what: str) -> tuple[float, dict[str, Any]]:
        """The reply to a request, with its arrival time; a `call.error` raises BenchError."""
        arrived, message = await self.expect(lambda m: m.get("request_id") == request_id, since, timeout, what)
        if message["type"] == "call.error":
            raise BenchError(f"{what}: {message.get('code')}: {message.get('error')}")
        return arrived, message

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(), timeout=3)
        self.ws.transport.abort()
        await asyncio.gather(*self.tasks, return_exceptions=True)


# --------------------------------------------------------------------------------------------
# Calls
# --------------------------------------------------------------------------------------------


@dataclass
class Slot:
    """A pair of users with one call at a time; each end has its own tone."""

    index: int
    caller: Session
    callee: Session

    @property
    def caller_hz(self) -> float:
        return 600.0 + 200 * self.index

    @property
    def callee_hz(self) -> float:
        return self.caller_hz + 100


@dataclass
class LiveCall:
    slot: Slot
    call_id: str
    caller_phone: Any
    callee_phone: Any
    setup_ms: float
    answer_to_audio_ms: float
    answer_phases_ms: dict[str, float]  # after call.answer was sent: when each step was done


@dataclass
class Bench:
    args: argparse.Namespace
    deadline: Deadline
    port: int
    worker_pid: int
    daphne_pid: int
    phone_class: type
    free: list[Slot] = field(default_factory=list)
    live: list[LiveCall] = field(default_factory=list)
    payloads: dict[float, list[bytes]] = field(default_factory=dict)
    orphans: list[Any] = field(default_factory=list)  # phones of failed set-ups, closed at the end
    requests: itertools.count[int] = field(default_factory=itertools.count)
    failures: list[str] = field(default_factory=list)
    idle_cpu_pct: float = 0.0  # the worker's CPU with no call

    def timeout(self) -> float:
        return self.deadline.left(self.args.step_timeout)

    def phone(self, hz: float) -> Any:
        if self.args.live_encode:
            return self.phone_class(hz, None)
        if hz not in self.payloads:
            self.payloads[hz] = encode_tone(hz)
        return self.phone_class(hz, self.payloads[hz])

    def request_id(self, kind: str) -> str:
        return f"{kind}-{next(self.requests)}"

    async def call(self, slot: Slot) -> LiveCall:
        """Place and answer a call on `slot`, timed; both ends hear each other when it returns."""
        caller_phone, callee_phone = self.phone(slot.caller_hz), self.phone(slot.callee_hz)
        call_id = ""
        try:
            offer = await caller_phone.offer()
            request_id = self.request_id("place")
            since_caller, since_callee = slot.caller.mark(), slot.callee.mark()
            placed_at = await slot.caller.send(
                {"type": "call.place", "request_id": request_id, "destination": slot.callee.extension, "sdp": offer}
            )
            _, placed = await slot.caller.reply(request_id, since_caller, self.timeout(), "call.placed")
            call_id = str(placed["call"]["id"])
            ringing_at, _ = await slot.callee.expect(
                lambda m: is_update(m, call_id, "ringing"),
                since_callee,
                self.timeout(),
                "ringing",
            )
            _, answer = await slot.caller.expect(
                lambda m: m["type"] == "call.sdp" and m["call_id"] == call_id, since_caller, self.timeout(), "call.sdp"
            )
            await caller_phone.accept(loopback_only(answer["sdp"]))
            await asyncio.wait_for(caller_phone.connected.wait(), timeout=self.timeout())

            callee_offer = await callee_phone.offer()
            request_id = self.request_id("answer")
            since_callee = slot.callee.mark()
            caller_hears = caller_phone.listen_for(slot.callee_hz)
            callee_hears = callee_phone.listen_for(slot.caller_hz)
            answered_at = await slot.callee.send(
                {"type": "call.answer", "request_id": request_id, "call_id": call_id, "sdp": callee_offer}
            )
            accepted_at, _ = await slot.callee.reply(request_id, since_callee, self.timeout(), "call.accepted (answer)")
            sdp_at, answer = await slot.callee.expect(
                lambda m: m["type"] == "call.sdp" and m["call_id"] == call_id, since_callee, self.timeout(), "call.sdp"
            )
            await callee_phone.accept(loopback_only(answer["sdp"]))
            heard = await asyncio.wait_for(asyncio.gather(caller_hears, callee_hears), timeout=self.timeout())
            phases = {
                "accepted": accepted_at,
                "engine_sdp": sdp_at,
                "callee_connected": callee_phone.connected_at or heard[1],
                "callee_first_frame": callee_phone.arrivals[0] if callee_phone.arrivals else heard[1],
                "callee_heard": heard[1],
                "caller_heard": heard[0],
            }
        except BaseException:
            self.orphans += [caller_phone, callee_phone]
            if call_id:
                with contextlib.suppress(Exception):
                    await slot.caller.send({"type": "call.hangup", "request_id": "cleanup", "call_id": call_id})
            raise
        return LiveCall(
            slot=slot,
            call_id=call_id,
            caller_phone=caller_phone,
            callee_phone=callee_phone,
            setup_ms=(ringing_at - placed_at) * 1000,
            answer_to_audio_ms=(max(heard) - answered_at) * 1000,
            answer_phases_ms={name: (moment - answered_at) * 1000 for name, moment in phases.items()},
        )

    async def hang_up(self, call: LiveCall) -> None:
        slot = call.slot
        request_id = self.request_id("hangup")
        since = slot.caller.mark()
        try:
            await slot.caller.send({"type": "call.hangup", "request_id": request_id, "call_id": call.call_id})
            await slot.caller.reply(request_id, since, self.timeout(), "call.accepted (hangup)")
            await slot.caller.expect(
                lambda m: is_update(m, call.call_id, "ended"),
                since,
                self.timeout(),
                "ended",
            )
        finally:
            await close_phones([call.caller_phone, call.callee_phone])
        self.free.append(slot)

    async def prune(self) -> int:
        """Drop the calls that lost their audio; returns how many.

        A call is lost when the server ended it, or when a client's PeerConnection is closed or
        failed while the server still has the call up (then it is hung up here).
        """
        lost = 0
        for call in list(self.live):
            states = {call.caller_phone.pc.connectionState, call.callee_phone.pc.connectionState}
            ended = call.call_id in call.slot.caller.ended
            if not ended and not states & {"closed", "failed"}:
                continue
            lost += 1
            self.live.remove(call)
            if ended:
                self.failures.append(f"call {call.call_id} ended by the server")
                await close_phones([call.caller_phone, call.callee_phone])
                self.free.append(call.slot)
                continue
            self.failures.append(f"call {call.call_id}: client PeerConnections {sorted(states)}, call still up")
            try:
                await self.hang_up(call)
            except (BenchError, TimeoutError) as error:
                self.failures.append(f"hanging up call {call.call_id}: {error}"[:300])
        return lost

    async def ensure(self, target: int) -> list[LiveCall]:
        """Add or hang up calls until `target` are up; returns the calls added."""
        while len(self.live) > target:
            await self.hang_up(self.live.pop())
        added: list[LiveCall] = []
        attempts = 0
        while len(self.live) < target:
            attempts += 1
            if attempts > target + 10:
                raise BenchError(f"could not set up {target} calls: {self.failures[-3:]}")
            batch = [self.free.pop() for _ in range(min(self.args.ramp_concurrency, target - len(self.live)))]
            results = await asyncio.gather(*(self.call(slot) for slot in batch), return_exceptions=True)
            for slot, result in zip(batch, results, strict=True):
                if isinstance(result, LiveCall):
                    self.live.append(result)
                    added.append(result)
                else:
                    self.free.append(slot)
                    self.failures.append(f"set-up: {type(result).__name__}: {result}"[:300])
        return added

    async def probes(self, count: int) -> tuple[list[LiveCall], int]:
        """`count` probe calls one after another beside the calls up; the last one stays up."""
        done: list[LiveCall] = []
        failed = 0
        for number in range(count):
            slot = self.free.pop()
            try:
                call = await self.call(slot)
            except (BenchError, TimeoutError) as error:
                failed += 1
                self.free.append(slot)
                self.failures.append(f"probe: {type(error).__name__}: {error}"[:300])
                continue
            done.append(call)
            if number < count - 1:
                await self.hang_up(call)
            else:
                self.live.append(call)
        return done, failed


def is_update(message: dict[str, Any], call_id: str, state: str) -> bool:
    return message["type"] == "call.updated" and message["call"]["id"] == call_id and message["call"]["state"] == state


def loopback_only(sdp: str) -> str:
    """The engine must offer 127.0.0.1 only (MEDIA_HOST_ADDRESSES); refuse anything else."""
    import ipaddress

    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            address = line.split()[4]
            if not ipaddress.ip_address(address).is_loopback:
                raise BenchError(f"the engine offered a non-loopback candidate: {line}")
    return sdp


async def close_phones(phones: list[Any]) -> None:
    async def close(phone: Any) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(phone.close(), timeout=10)

    await asyncio.gather(*(close(phone) for phone in phones))


# --------------------------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------------------------


def process_cpu(pid: int) -> float:
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def cpu_by_process() -> dict[int, float]:
    """CPU seconds used so far by every process of the machine (threads included).

    Per-process times are used because this VM's per-core counters in /proc/stat do not add
    up (a core's ticks over 5 s sum to ~4 s, and core 0 looked less busy than the worker
    pinned to it).
    """
    import psutil

    seconds: dict[int, float] = {}
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            seconds[process.pid] = times.user + times.system
    return seconds


async def loop_lag(samples: list[float]) -> None:
    """Record by how much a 10 ms sleep oversleeps: the clients' event-loop latency."""
    while True:
        before = time.monotonic()
        await asyncio.sleep(0.01)
        samples.append((time.monotonic() - before - 0.01) * 1000)


async def measure(bench: Bench, level: int, baseline_rss: int) -> dict[str, Any]:
    """The window: worker CPU and RSS, every leg's frame rate and jitter, the clients' health."""
    seconds = bench.args.window
    pids = {"worker": bench.worker_pid, "daphne": bench.daphne_pid, "clients": os.getpid()}
    lags: list[float] = []
    lag_task = asyncio.create_task(loop_lag(lags))
    cpu_before = {name: process_cpu(pid) for name, pid in pids.items()}
    everyone_before = cpu_by_process()
    start = time.monotonic()
    await asyncio.sleep(seconds)
    end = time.monotonic()
    cpu_after = {name: process_cpu(pid) for name, pid in pids.items()}
    everyone_after = cpu_by_process()
    lag_task.cancel()
    rss = rss_bytes([bench.worker_pid])
    wall = end - start
    cpu_pct = {name: (cpu_after[name] - cpu_before[name]) / wall * 100 for name in pids}
    ours = {bench.worker_pid, os.getpid()}
    others = sum(used - everyone_before.get(pid, 0.0) for pid, used in everyone_after.items() if pid not in ours)

    legs: list[dict[str, float]] = []
    deaf = 0
    states: dict[str, int] = {}
    silent_for: list[float] = []  # legs below 48 fps: seconds since their last frame, at the window's end
    for call in bench.live:
        for phone, peer_hz in ((call.caller_phone, call.slot.callee_hz), (call.callee_phone, call.slot.caller_hz)):
            timing = leg_timing(phone.arrivals, phone.stamps, start, end)
            legs.append(timing)
            if not phone.hears(peer_hz):
                deaf += 1
            state = str(phone.pc.connectionState)
            states[state] = states.get(state, 0) + 1
            if timing["fps"] < MIN_FPS:
                silent_for.append(round(end - phone.arrivals[-1], 1) if phone.arrivals else -1.0)
    fps = [leg["fps"] for leg in legs]
    jitter = [leg["jitter_ms_max"] for leg in legs]
    below = sum(1 for value in fps if value < MIN_FPS)
    jittery = sum(1 for value in jitter if value >= MAX_JITTER_MS)
    lost = await bench.prune()
    held = len(bench.live) + lost == level and lost == 0 and below == 0 and jittery == 0 and deaf == 0
    return {
        "calls_up": len(bench.live),
        "window_seconds": round(wall, 2),
        "worker_cpu_pct": round(cpu_pct["worker"], 1),
        "cpu_pct_per_call": round(cpu_pct["worker"] / level, 2),
        "cpu_pct_per_call_above_idle": round((cpu_pct["worker"] - bench.idle_cpu_pct) / level, 2),
        "worker_rss_mb": round(rss / 2**20, 1),
        "memory_mb_per_call": round((rss - baseline_rss) / 2**20 / level, 2),
        "legs": len(legs),
        "leg_fps_min": rounded(min(fps) if fps else None),
        "leg_fps_mean": rounded(sum(fps) / len(fps) if fps else None),
        "leg_jitter_ms_max": rounded(max(jitter) if jitter else None),
        "leg_jitter_ms_mean": rounded(sum(leg["jitter_ms_mean"] for leg in legs) / len(legs) if legs else None),
        "leg_gap_ms_max": rounded(max(leg["gap_ms_max"] for leg in legs) if legs else None),
        "legs_below_48_fps": below,
        "legs_jitter_20_ms_or_more": jittery,
        "legs_not_hearing_peer": deaf,
        "calls_lost": lost,
        "client_pc_states": states,
        "legs_below_48_fps_silent_for_s": sorted(silent_for)[:40],
        "held": held,
        "client_cpu_pct": round(cpu_pct["clients"], 1),
        "client_loop_lag_ms_p99": rounded(percentile(lags, 0.99)),
        "client_loop_lag_ms_max": rounded(max(lags) if lags else None),
        "client_saturated": cpu_pct["clients"] >= CLIENT_SATURATED_PCT,
        "daphne_cpu_pct": round(cpu_pct["daphne"], 1),
        # every other process of the machine (daphne, PostgreSQL, Redis and whatever else runs),
        # % of one core: what may have competed with the worker and the clients
        "others_cpu_pct": round(others / wall * 100, 1),
    }


def latency_summary(calls: list[LiveCall], failed: int) -> dict[str, Any]:
    setup = [call.setup_ms for call in calls]
    audio = [call.answer_to_audio_ms for call in calls]
    return {
        "probes": len(calls),
        "probe_failures": failed,
        "setup_ms_p50": rounded(percentile(setup, 0.50)),
        "setup_ms_p95": rounded(percentile(setup, 0.95)),
        "setup_ms_max": rounded(max(setup) if setup else None),
        "answer_to_audio_ms_p50": rounded(percentile(audio, 0.50)),
        "answer_to_audio_ms_p95": rounded(percentile(audio, 0.95)),
        "answer_to_audio_ms_max": rounded(max(audio) if audio else None),
        "answer_phases_ms_p50": {
            name: rounded(percentile([call.answer_phases_ms[name] for call in calls], 0.50))
            for name in (calls[0].answer_phases_ms if calls else {})
        },
    }


async def run_level(bench: Bench, level: int, *, probe: bool, baseline_rss: int) -> dict[str, Any]:
    started = time.monotonic()
    report: dict[str, Any] = {"calls": level, "calls_lost_before": await bench.prune()}
    if probe:
        await bench.ensure(level - 1)
        log(f"level {level}: {len(bench.live)} calls up; {bench.args.probes} probe calls")
        calls, failed = await bench.probes(bench.args.probes)
        report.update(latency_summary(calls, failed))
        await bench.ensure(level)  # when the last probe failed
    else:
        added = await bench.ensure(level)
        report.update({"calls_added": len(added)})
    log(f"level {level}: {len(bench.live)} calls up; settling {bench.args.settle:g} s, window {bench.args.window:g} s")
    await asyncio.sleep(bench.args.settle)
    report.update(await measure(bench, level, baseline_rss))
    if not report["held"] and report["others_cpu_pct"] > OTHERS_TOLERATED_PCT and report["calls_lost"] == 0:
        # Other processes were busy (they may have taken a share of the worker's core): once more.
        log(f"level {level}: other processes used {report['others_cpu_pct']} % of a core; measuring again")
        first = {key: report[key] for key in SEARCH_KEYS if key in report}
        await asyncio.sleep(bench.args.settle)
        report.update(await measure(bench, level, baseline_rss))
        report["first_measurement"] = first
    report["level_seconds"] = round(time.monotonic() - started, 1)
    log(
        f"level {level}: held={report['held']} worker {report['worker_cpu_pct']} % "
        f"fps min {report['leg_fps_min']} jitter max {report['leg_jitter_ms_max']} ms "
        f"clients {report['client_cpu_pct']} %"
    )
    return report


async def run_calls(
    args: argparse.Namespace,
    deadline: Deadline,
    servers: list[Server],  # daphne, then the media worker
    users: list[list[Any]],
    report: dict[str, Any],
    marks: dict[Path, int],
) -> None:
    from toc.media.engine import restrict_host_addresses

    port, daphne_pid, worker_pid = servers[0].port, servers[0].process.pid, servers[1].process.pid
    restrict_host_addresses(["127.0.0.1"])  # before any PeerConnection: ICE gathers 127.0.0.1 only
    _, phone_class = make_tracks()
    bench = Bench(
        args=args, deadline=deadline, port=port, worker_pid=worker_pid, daphne_pid=daphne_pid, phone_class=phone_class
    )
    sessions: list[Session] = []
    try:
        log(f"opening {len(users)} event sockets")
        for user_id, token, extension in users:
            sessions.append(await Session.open(port, user_id, token, extension, deadline.left(30)))
        bench.free = [Slot(index, sessions[2 * index], sessions[2 * index + 1]) for index in range(len(users) // 2)]
        bench.free.reverse()  # pop() hands out slot 0 first

        log("warm-up call")
        await asyncio.sleep(1)
        for _ in range(2):
            call = await bench.call(bench.free.pop())
            await asyncio.sleep(1)
            await bench.hang_up(call)
        await asyncio.sleep(2)
        baseline_rss = rss_bytes([worker_pid])
        report["worker_rss_mb_baseline"] = round(baseline_rss / 2**20, 1)
        idle_from, idle_cpu = time.monotonic(), process_cpu(worker_pid)
        await asyncio.sleep(5)
        bench.idle_cpu_pct = (process_cpu(worker_pid) - idle_cpu) / (time.monotonic() - idle_from) * 100
        report["worker_cpu_pct_idle"] = round(bench.idle_cpu_pct, 1)

        requested = sorted(set(args.calls))
        search = list(range(args.search_start, args.max_calls + 1, args.search_step))
        levels: dict[str, dict[str, Any]] = {}
        searched: list[dict[str, Any]] = []
        held_last: int | None = None
        failed_first: int | None = None
        limited_by = "not reached"

        def record(result: dict[str, Any]) -> None:
            nonlocal held_last, failed_first, limited_by
            level = int(result["calls"])
            searched.append({key: result.get(key) for key in SEARCH_KEYS})
            if failed_first is not None:
                return
            if result["held"]:
                held_last = level if held_last is None else max(held_last, level)
            else:
                failed_first = level
                limited_by = "client" if result["client_saturated"] else "worker"

        async def refine() -> None:
            """Between the last level that held and the first that failed, one call at a time."""
            nonlocal held_last, limited_by
            assert failed_first is not None
            for level in range(1 if held_last is None else held_last + 1, failed_first):
                if level in requested:
                    continue
                log(f"capacity: refining at {level} calls")
                result = await run_level(bench, level, probe=False, baseline_rss=baseline_rss)
                searched.append({key: result.get(key) for key in SEARCH_KEYS})
                if not result["held"]:
                    limited_by = "client" if result["client_saturated"] else "worker"
                    return
                held_last = level

        # The refinement runs as soon as a level fails, before any higher level: a worker that
        # was far over capacity for a while (20 calls) may not measure like a fresh one.
        refined = False
        for level in sorted(set(requested) | set(search)):
            if failed_first is not None:
                if not refined:
                    await refine()
                    refined = True
                if level not in requested:
                    continue
            result = await run_level(bench, level, probe=level in requested, baseline_rss=baseline_rss)
            if level in requested:
                levels[str(level)] = result
            record(result)
            if failed_first is None and result["client_saturated"] and level >= args.search_start:
                limited_by = "client"
                break  # the clients' core is full: a higher level would measure the clients
        if failed_first is not None and not refined:
            await refine()
        report["levels"] = levels
        report["max_calls_per_worker"] = held_last
        report["max_calls_first_failure"] = failed_first
        report["max_calls_limited_by"] = limited_by
        report["capacity_search"] = searched
    finally:
        report["set_up_failures"] = bench.failures[:20]
        for server in servers:  # what the servers log from now on is the teardown's
            with contextlib.suppress(OSError):
                marks[server.log_path] = server.log_path.stat().st_size
        log("closing phones and sockets")
        await close_phones([phone for call in bench.live for phone in (call.caller_phone, call.callee_phone)])
        await close_phones(bench.orphans)
        # A few at a time: a burst of ~100 disconnects exhausts daphne's Redis pool (see docs/performance.md).
        for start in range(0, len(sessions), 10):
            await asyncio.gather(*(session.close() for session in sessions[start : start + 10]), return_exceptions=True)


SEARCH_KEYS = (
    "calls",
    "held",
    "worker_cpu_pct",
    "leg_fps_min",
    "leg_jitter_ms_max",
    "legs_below_48_fps",
    "legs_jitter_20_ms_or_more",
    "calls_lost",
    "client_cpu_pct",
    "client_saturated",
    "others_cpu_pct",
)


# --------------------------------------------------------------------------------------------
# Coordinator
# --------------------------------------------------------------------------------------------


def start_media_worker(env: dict[str, str], args: argparse.Namespace, log_path: Path) -> Server:
    """`manage.py media_worker --cpu N --capacity 200` (not yet ready: see `wait_registered`)."""
    env = {**env, "LOG_LEVEL": "INFO"}  # legs that fail say why (a few lines per call)
    command = ["manage.py", "media_worker", "--cpu", str(args.worker_core), "--capacity", str(args.capacity)]
    return Server(port=0, process=spawn([sys.executable, *command], env, log_path), log_path=log_path)


def wait_registered(worker: Server, database_url: str, deadline: Deadline) -> None:
    """Wait until the media worker has registered its MediaWorker row (it takes calls from then on)."""
    import psycopg

    ready_by = time.monotonic() + deadline.left(60)
    dsn = database_url.replace("postgres://", "postgresql://", 1)
    problem = ""
    while True:
        if worker.process.poll() is not None:
            raise BenchError(f"the media worker exited:\n{tail(worker.log_path)}")
        try:
            with psycopg.connect(dsn, connect_timeout=10) as connection:
                query = "SELECT 1 FROM media_mediaworker WHERE pid = %s"
                if connection.execute(query, [worker.process.pid]).fetchone() is not None:
                    return
        except psycopg.Error as error:
            problem = f": {error}"
        if time.monotonic() > ready_by:
            raise BenchError(f"the media worker did not register in time{problem}")
        time.sleep(0.2)


def logged(servers: list[Server], levels: tuple[str, ...], marks: dict[Path, int], *, teardown: bool) -> dict[str, int]:
    """Count what the server processes logged at these levels, by message (first 120 characters).

    `marks` holds each log's size when the teardown began: the lines before it (the run) or
    after it (closing the sockets, stopping the processes) are counted.
    """
    counts: dict[str, int] = {}
    for server in servers:
        try:
            data = server.log_path.read_bytes()
        except OSError:
            continue
        mark = marks.get(server.log_path, len(data))
        part = data[mark:] if teardown else data[:mark]
        for line in part.decode(errors="replace").splitlines():
            if any(f" {level} " in line for level in levels):
                message = line.split(" ", 3)[-1][:120]
                counts[message] = counts.get(message, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: -item[1])[:20])


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("aiortc", "aioice", "av", "numpy", "django", "channels", "daphne", "websockets"):
        with contextlib.suppress(PackageNotFoundError):
            found[package] = version(package)
    return found


def run(args: argparse.Namespace) -> dict[str, Any]:
    began = time.monotonic()
    deadline = Deadline(args.timeout)
    raise_open_files_limit()
    cores = os.sched_getaffinity(0)
    if args.worker_core not in cores or args.client_core not in cores or args.worker_core == args.client_core:
        raise BenchError(f"need two distinct cores among {sorted(cores)} for the worker and the clients")
    log_dir = Path(tempfile.mkdtemp(prefix="toc-calls-"))
    extra = {
        "DJANGO_SETTINGS_MODULE": "toc.settings",
        "MEDIA_HOST_ADDRESSES": "127.0.0.1",  # media only ever on loopback
        "MEDIA_ALLOWED_NETWORKS": "127.0.0.0/8",
    }
    env = server_env(args.database_url, args.redis_url, log_dir / "var", extra)
    slots = max(max(args.calls), args.max_calls) + 1
    report: dict[str, Any] = {
        "calls_requested": sorted(set(args.calls)),
        "probes_per_level": args.probes,
        "window_seconds": args.window,
        "settle_seconds": args.settle,
        "client_audio": "live Opus encoding" if args.live_encode else "pre-encoded Opus packets, looped",
        "worker_core": args.worker_core,
        "client_core": args.client_core,
        "load_average_before": [round(value, 2) for value in os.getloadavg()],
    }
    if args.note:
        report["note"] = args.note
    servers: list[Server] = []
    marks: dict[Path, int] = {}
    created = False
    try:
        log("creating the database")
        create_database(args.database_url, keep=args.keep)
        created = True
        flush_redis(args.redis_url)
        log("migrating")
        run_step("migrate", [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], env, deadline)
        log(f"creating {2 * slots} users")
        seeded = run_step("seeding", [sys.executable, str(THIS_FILE), "--seed", str(2 * slots)], env, deadline)
        users = json.loads(seeded)["users"]
        log("starting daphne and the media worker")
        servers = start_servers(1, env, log_dir, deadline)  # before pinning: daphne may use every core
        servers.append(start_media_worker(env, args, log_dir / "media-worker.log"))  # stopped in finally
        wait_registered(servers[-1], args.database_url, deadline)
        os.sched_setaffinity(0, {args.client_core})
        try:
            asyncio.run(
                guarded(
                    run_calls(args, deadline, servers, users, report, marks),
                    deadline.left(),
                )
            )
        finally:
            signal.signal(signal.SIGTERM, on_sigterm)  # closing the loop reset it to the default
    except (BenchError, TimeoutError, OSError, subprocess.SubprocessError) as error:
        report["error"] = f"{type(error).__name__}: {error}"
        for server in servers:
            report.setdefault("log_tails", []).append(tail(server.log_path, 10))
    except (KeyboardInterrupt, Interrupted, asyncio.CancelledError):
        report["error"] = "interrupted"
    finally:
        # A second SIGTERM must not cut the teardown short (each step below is bounded).
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for server in reversed(servers):  # the worker first: it ends its calls through the database
            stop_process(server.process)
        report["server_errors"] = logged(servers, ("ERROR", "CRITICAL"), marks, teardown=False)
        report["server_warnings"] = logged(servers, ("WARNING",), marks, teardown=False)
        report["server_errors_at_teardown"] = logged(servers, ("ERROR", "CRITICAL"), marks, teardown=True)
        clean_up_stores(args.database_url, args.redis_url, drop=created and not args.keep)
        if args.keep_logs:
            keep = Path(args.keep_logs)
            keep.mkdir(parents=True, exist_ok=True)
            for server in servers:
                with contextlib.suppress(OSError):
                    shutil.copy(server.log_path, keep / server.log_path.name)
        shutil.rmtree(log_dir, ignore_errors=True)
    report["goals"] = GOALS
    report["goals_met"] = goals_met(report)
    report["machine"] = {**machine_info(), "packages": versions()}
    report["date"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    report["source"] = source_revision()
    report["duration_seconds"] = round(time.monotonic() - began, 1)
    report["command"] = " ".join([".venv/bin/python", "bench/calls.py", *sys.argv[1:]])
    return report


def goals_met(report: dict[str, Any]) -> dict[str, Any]:
    """Each goal, per requested level (set-up and answer-to-audio) and for the worker."""
    met: dict[str, Any] = {}
    for key in ("setup_ms_p95", "answer_to_audio_ms_p95"):
        met[key] = {
            level: (result.get(key) is not None and result[key] <= GOALS[key])
            for level, result in report.get("levels", {}).items()
        }
    capacity = report.get("max_calls_per_worker")
    met["calls_per_worker_core"] = capacity is not None and capacity >= GOALS["calls_per_worker_core"]
    return met


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", default="1,10,20", help="levels with probe calls and figures (default 1,10,20)")
    parser.add_argument("--probes", type=int, default=20, help="probe calls per requested level (default 20)")
    parser.add_argument("--search-start", type=int, default=10, help="capacity search: first level (default 10)")
    parser.add_argument("--search-step", type=int, default=5, help="capacity search: step (default 5)")
    parser.add_argument("--max-calls", type=int, default=60, help="capacity search: highest level (default 60)")
    parser.add_argument("--window", type=float, default=10, help="measurement window (s, default 10)")
    parser.add_argument("--settle", type=float, default=5, help="pause before each window (s, default 5)")
    parser.add_argument("--ramp-concurrency", type=int, default=4, help="calls set up at once between levels")
    parser.add_argument("--live-encode", action="store_true", help="clients encode every frame (like a browser)")
    parser.add_argument("--worker-core", type=int, default=0, help="the media worker's core (default 0)")
    parser.add_argument("--client-core", type=int, default=1, help="the clients' core (default 1)")
    parser.add_argument("--capacity", type=int, default=200, help="media_worker --capacity (default 200)")
    parser.add_argument("--step-timeout", type=float, default=15, help="wait for one signalling step (s)")
    parser.add_argument("--timeout", type=float, default=1800, help="the whole run at most (s)")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/toc_bench_calls")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/7")
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the database")
    parser.add_argument("--keep-logs", default="", metavar="DIR", help="copy the daphne and media worker logs here")
    parser.add_argument("--note", default="", help="a remark stored in the report (e.g. what code was measured)")
    parser.add_argument("--json", action="store_true", help="print only the JSON report")
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        args.calls = [int(value) for value in str(args.calls).split(",") if value.strip()]
    except ValueError:
        parser.error("--calls is a comma-separated list of numbers, e.g. 1,10,20")
    if not args.calls or min(args.calls) < 1 or args.probes < 1 or args.search_step < 1 or args.search_start < 1:
        parser.error("--calls, --probes, --search-start and --search-step must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.seed is not None:
        seed(args.seed)
        return 0
    signal.signal(signal.SIGTERM, on_sigterm)
    return print_report(run(args), as_json=args.json)


if __name__ == "__main__":
    sys.exit(main())
