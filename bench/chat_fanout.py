"""Chat fan-out on the production configuration: PostgreSQL + Redis + daphne.

Usage (from the repository root):

    .venv/bin/python bench/chat_fanout.py --json      # 1000 clients; groups of 10, 100, 1000 at 50 messages/s

Method
------
1. Setup (helpers shared with ``bench/presence_fanout.py``). Creates a PostgreSQL database of
   its own (default ``toc_bench_chat`` on 127.0.0.1:5432, user postgres), runs ``manage.py
   migrate``, creates one organisation and N SSO-only users with a DRF token each (the seed
   step of ``presence_fanout.py``), then, in a subprocess with Django loaded, one group per
   ``--groups`` size through ``toc.chat.services.create_group``: the group of size S holds
   users 0 … S-1, user 0 (the sender) created it. Flushes its own Redis database (default
   ``redis://127.0.0.1:6379/10``; only that database is ever flushed).
2. Server. ``--servers`` daphne processes with ``DEBUG=false`` and the production settings
   (RedisChannelLayer). One HTTP request, one socket and one chat message per process warm the
   code paths before any client connects.
3. Clients. ``--client-procs`` subprocesses (this file with ``--worker``) open N sockets to
   ``/ws/events/?token=<key>``, one per user, spread round-robin over the daphne processes (so
   every group has members on every process), at most ``--connect-concurrency`` handshakes in
   flight, a failed handshake retried with backoff, the JSON heartbeat as the server asks. Each
   connect is announced to the whole organisation (presence); a presence change of user 0 with
   the run's marker ends that storm, as in ``presence_fanout.py``: once every client has it,
   nothing queued earlier is still on its way.
4. Scenarios, one per group, one after the other. User 0 posts ``round(rate * --duration)``
   messages (``POST /api/chat/conversations/<id>/messages/``, ``Authorization: Token``,
   ``toc.plain/1`` text ``bench <run> <scenario> <k>``, a fresh ``client_id`` each). Message k
   is due at t0 + k / rate; ``--senders`` keep-alive HTTP connections (spread over the daphne
   processes) take the next due message as soon as they are free, so the HTTP round trip does
   not cap the rate unless all of them are busy (``send_lag_ms`` says how late sends started).
   Every client records the arrival time (``time.monotonic``, CLOCK_MONOTONIC, shared by all
   processes of the machine) of each ``chat.message_sent`` event with that text, the sender's
   own socket included. Latency = arrival - the moment just before the request was written,
   i.e. HTTP + auth + DB transaction + channel layer + daphne fan-out + the client's loop.
   ``deliveries_per_s`` = deliveries received / (last arrival - first send). A scenario ends
   when every member socket has every message that was stored, or after ``--drain-timeout``
   seconds without a new delivery. ``cpu_seconds`` shows who used the CPU during it.
   A shared machine: a scenario starts once the machine's other processes used at most 0.15
   cores for 3 s (at most ``--quiet-timeout``); one during which they used more is measured
   again (``--busy-retries``). The quietest attempt counts, the others are in ``busy_attempts``.
5. Teardown (always, in ``finally``): results are collected, the daphne processes are
   terminated (before the clients close), the client processes stopped, every by its PID; the
   database is dropped (unless ``--keep``) and the Redis database flushed.

The goal (issue 6): in the 100-member group at 50 messages/s, >= 2500 deliveries/s and p99
<= 250 ms, every delivery arriving. The clients and the sender share the machine with the
server, Redis and PostgreSQL. All traffic goes to 127.0.0.1. Every wait is bounded and
``--timeout`` bounds the whole run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `bench` and `toc` importable
    sys.path.insert(0, str(ROOT))

from bench.calls import cpu_by_process  # noqa: E402
from bench.presence_fanout import (  # noqa: E402
    STREAM_LIMIT,
    BenchError,
    Deadline,
    Interrupted,
    Server,
    clean_up_stores,
    cpu_delta,
    cpu_snapshot,
    create_database,
    emit,
    flush_redis,
    guarded,
    http_request,
    log,
    machine_info,
    merged_counts,
    on_sigterm,
    percentile,
    print_report,
    raise_open_files_limit,
    redis_used_memory_mb,
    rounded,
    run_step,
    server_env,
    server_errors,
    service_pids,
    source_revision,
    start_servers,
    stop_process,
    tail,
    warm_up,
)

THIS_FILE = Path(__file__).resolve()
PRESENCE_BENCH = ROOT / "bench" / "presence_fanout.py"  # its --seed step makes the users
GOAL_GROUP = 100
GOAL_RATE = 50.0
GOAL_DELIVERIES_PER_S = 2500.0
GOAL_P99_MS = 250.0
OTHERS_TOLERATED_CORES = 0.15  # used by other processes during a scenario before it is measured again
WORKER_OPTIONS = ("connect_timeout", "connect_phase_timeout", "connect_retries", "heartbeat")
BUSY_OMITTED = {"http_statuses", "http_error_samples"}  # left out of busy_attempts
MESSAGE_TYPE_PREFIX = '{"type": "chat.message_sent"'
PRESENCE_TYPE_PREFIX = '{"type": "presence.changed"'


# --------------------------------------------------------------------------------------------
# Setup: the groups (a subprocess with Django loaded; the users come from presence_fanout)
# --------------------------------------------------------------------------------------------


def seed_groups(spec_path: str) -> None:
    """(Subprocess.) Create one group per size from the users given; print their ids."""
    import django

    django.setup()
    from toc.accounts.models import User
    from toc.chat import services as chat_services
    from toc.chat.models import Conversation

    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    user_ids: list[int] = spec["user_ids"]
    sender = User.objects.get(pk=user_ids[0])
    # A --keep run reuses the database: earlier runs' groups would add members to every socket.
    Conversation.objects.filter(organisation=sender.organisation).delete()
    conversations = []
    for size in spec["sizes"]:
        group = chat_services.create_group(user=sender, name=f"bench {size}", member_ids=user_ids[1:size])
        conversations.append(str(group.pk))
    print(json.dumps({"conversations": conversations}))


# --------------------------------------------------------------------------------------------
# Client worker (subprocess): sockets, arrival times of the bench's chat messages
# --------------------------------------------------------------------------------------------


@dataclass
class Arrivals:
    """What one worker's sockets received."""

    marker: str
    times: dict[int, dict[int, list[float]]] = field(default_factory=dict)  # scenario -> k -> arrivals
    counts: dict[int, int] = field(default_factory=dict)  # scenario -> deliveries
    sentinel: int = 0
    duplicates: int = 0
    other_types: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.pattern = re.compile(re.escape(self.marker) + r" (\d+) (\d+)\"")

    def take(self, raw: str | bytes, now: float, seen: set[tuple[int, int]]) -> None:
        if isinstance(raw, str) and self.marker in raw:
            if raw.startswith(MESSAGE_TYPE_PREFIX):
                found = self.pattern.search(raw)
                if found is not None:
                    scenario, k = int(found[1]), int(found[2])
                    if (scenario, k) in seen:
                        self.duplicates += 1
                        return
                    seen.add((scenario, k))
                    self.times.setdefault(scenario, {}).setdefault(k, []).append(round(now, 6))
                    self.counts[scenario] = self.counts.get(scenario, 0) + 1
                    return
            elif raw.startswith(PRESENCE_TYPE_PREFIX):
                self.sentinel += 1
                return
        kind = raw[: raw.find(",")].removeprefix('{"type": ').strip('"') if isinstance(raw, str) else "binary"
        self.other_types[kind] = self.other_types.get(kind, 0) + 1


async def worker_main(config: dict[str, Any]) -> None:
    from websockets.asyncio.client import ClientConnection, connect
    from websockets.exceptions import ConnectionClosed
    from websockets.typing import Origin

    clients: list[list[Any]] = config["clients"]  # [global index, url, origin]
    arrivals = Arrivals(marker=config["marker"])
    gate = asyncio.Semaphore(config["connect_concurrency"])
    timeout: float = config["connect_timeout"]
    open_sockets: list[ClientConnection] = []
    connected: list[int] = []
    connect_errors: list[str] = []
    closed_errors: list[str] = []
    state = {"retries": 0, "lost": 0, "attempted": 0, "stopping": False}
    all_attempted = asyncio.Event()

    async def open_one(url: str, origin: str) -> tuple[ClientConnection, float]:
        """One handshake and the server's hello; the heartbeat period it asks for."""
        ws = await connect(
            url, origin=Origin(origin), open_timeout=timeout, ping_interval=None, compression=None, proxy=None
        )
        try:
            hello = json.loads(await asyncio.wait_for(ws.recv(), timeout=timeout))
            if hello.get("type") != "realtime.connected":
                raise BenchError(f"unexpected first message {hello!r}")
        except BaseException:
            ws.transport.abort()
            raise
        heartbeat = float(config["heartbeat"])
        return ws, float(hello.get("heartbeat_seconds", 0)) if heartbeat < 0 else heartbeat

    async def listen(index: int, url: str, origin: str) -> None:
        ws = None
        for attempt in range(config["connect_retries"] + 1):
            if attempt:  # back off like the web client
                state["retries"] += 1
                await asyncio.sleep(min(30.0, 2.0**attempt) * random.uniform(0.5, 1.0))
            try:
                async with gate:
                    ws, every = await open_one(url, origin)
                break
            except Exception as error:  # noqa: BLE001 - a failed attempt is counted and retried
                connect_errors.append(f"{type(error).__name__}: {error}"[:300])
        state["attempted"] += 1
        if state["attempted"] == len(clients):
            all_attempted.set()
        if ws is None:
            return
        open_sockets.append(ws)
        connected.append(index)
        seen: set[tuple[int, int]] = set()
        beat = asyncio.create_task(heartbeat(ws, every)) if every > 0 else None
        try:
            async for raw in ws:
                arrivals.take(raw, time.monotonic(), seen)
        except ConnectionClosed as error:
            if not state["stopping"]:
                closed_errors.append(f"closed: {error}"[:300])
        finally:
            if beat is not None:
                beat.cancel()
            if not state["stopping"]:
                state["lost"] += 1

    async def heartbeat(ws: ClientConnection, every: float) -> None:
        with contextlib.suppress(ConnectionClosed):
            await asyncio.sleep(random.uniform(0, every))
            while True:
                await ws.send('{"type":"ping"}')
                await asyncio.sleep(every)

    async def report_progress() -> None:
        """Every 50 ms: the deliveries so far (when they changed), and the sentinel once complete."""
        last: dict[int, int] = {}
        sentinel_sent = False
        while True:
            await asyncio.sleep(0.05)
            if arrivals.counts != last:
                last = dict(arrivals.counts)
                emit({"event": "progress", "counts": last})
            if not sentinel_sent and arrivals.sentinel and arrivals.sentinel >= len(connected) - state["lost"]:
                sentinel_sent = True
                emit({"event": "sentinel", "count": arrivals.sentinel})

    started = time.monotonic()
    tasks = [asyncio.create_task(listen(index, url, origin)) for index, url, origin in clients]
    progress: asyncio.Task[None] | None = None
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_attempted.wait(), timeout=config["connect_phase_timeout"])
        if not all_attempted.is_set():
            connect_errors.append("connect phase timed out")
        emit(
            {
                "event": "ready",
                "connected": sorted(connected),
                "retries": state["retries"],
                "seconds": round(time.monotonic() - started, 3),
                "errors": list(dict.fromkeys(connect_errors))[:5],
            }
        )
        progress = asyncio.create_task(report_progress())
        # The coordinator writes "stop" (report what arrived), then closes stdin (exit).
        while line := await asyncio.to_thread(sys.stdin.readline):
            if line.strip() == "stop":
                state["stopping"] = True
                emit(
                    {
                        "event": "result",
                        "times": arrivals.times,
                        "lost": state["lost"],
                        "duplicates": arrivals.duplicates,
                        "other_types": arrivals.other_types,
                        "errors": len(closed_errors),
                        "error_samples": closed_errors[:10],
                    }
                )
    finally:
        state["stopping"] = True
        if progress is not None:
            progress.cancel()
        for ws in open_sockets:
            ws.transport.abort()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def worker_entry(config_path: str) -> None:
    """(Subprocess.) The sockets of the config file's share of the users, until stdin closes."""
    raise_open_files_limit()
    config = json.loads(Path(config_path).read_text(encoding="utf-8"))
    asyncio.run(asyncio.wait_for(worker_main(config), timeout=config["deadline"]))


# --------------------------------------------------------------------------------------------
# Coordinator: a keep-alive HTTP client, the senders, the scenarios
# --------------------------------------------------------------------------------------------


class KeepAlive:
    """One persistent HTTP/1.1 connection to a daphne process, reopened when the server closes it."""

    def __init__(self, port: int, token: str, timeout: float) -> None:
        self.port, self.token, self.timeout = port, token, timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, float, bytes]:
        """(status, the moment the request was written, the response body).

        A reused connection the server closed while it was idle fails before any byte of the
        answer: that request is sent once more on a new connection (a chat message carries
        its client_id, so a repeat is never stored twice).
        """
        reused = self.writer is not None and not self.writer.is_closing()
        try:
            return await self._request(method, path, body)
        except (asyncio.IncompleteReadError, ConnectionResetError) as error:
            if not reused or (isinstance(error, asyncio.IncompleteReadError) and error.partial):
                raise
        return await self._request(method, path, body)

    async def _request(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, float, bytes]:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", self.port), timeout=self.timeout
            )
        reader, writer = self.reader, self.writer
        assert reader is not None and writer is not None
        payload = json.dumps(body).encode()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nAuthorization: Token {self.token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        ).encode()
        sent_at = time.monotonic()
        try:
            writer.write(head + payload)
            status, headers, content = await asyncio.wait_for(self._response(reader), timeout=self.timeout)
        except BaseException:
            self.close()
            raise
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, sent_at, content

    @staticmethod
    async def _response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
        lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        try:
            status = int(lines[0].split()[1])
        except (IndexError, ValueError) as error:
            raise BenchError(f"bad HTTP response {lines[0]!r}") from error
        headers = {
            name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])
        }
        if "content-length" in headers:
            return status, headers, await reader.readexactly(int(headers["content-length"]))
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
            await reader.readuntil(b"\r\n")
            return status, headers, b"".join(chunks)
        headers["connection"] = "close"
        return status, headers, await reader.read()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def message_body(text: str) -> dict[str, Any]:
    """A plain-text message as the web client sends it, with a fresh client_id."""
    envelope = {"format": "toc.plain/1", "payload": {"text": text, "attachments": []}}
    return {"envelope": envelope, "attachment_ids": [], "client_id": str(uuid.uuid4())}


@dataclass
class Send:
    planned: float
    started: float | None = None
    status: int | None = None
    ms: float | None = None
    error: str | None = None


@dataclass
class Attempt:
    """One measurement of a scenario (measured again when other processes were busy during it)."""

    position: int  # which scenario
    number: int  # in the messages' text
    size: int
    rate: float
    members: int  # member sockets connected
    sends: list[Send] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)
    waited_for_quiet_s: float | None = None
    redis_used_memory_mb: float | None = None


def others_cores(before: dict[int, float], after: dict[int, float], ours: set[int], wall: float) -> float:
    """Cores used by the machine's other processes (not ours, not Redis or PostgreSQL) in between."""
    services = set(service_pids("redis-server") + service_pids("postgres"))
    used = sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items() if pid not in ours | services)
    return round(used / max(wall, 1e-9), 2)


async def wait_until_quiet(ours: set[int], timeout: float) -> float | None:
    """Wait until the other processes use at most OTHERS_TOLERATED_CORES over 3 s; seconds waited.

    None: still busy after `timeout` (the scenario is measured all the same, and says so).
    """
    began = time.monotonic()
    while True:
        before, start = cpu_by_process(), time.monotonic()
        await asyncio.sleep(3)
        others = others_cores(before, cpu_by_process(), ours, time.monotonic() - start)
        if others <= OTHERS_TOLERATED_CORES:
            return round(time.monotonic() - began, 1)
        if time.monotonic() - began > timeout:
            return None
        log(f"other processes use {others} cores; waiting")


@dataclass
class Worker:
    process: asyncio.subprocess.Process
    ready: asyncio.Future[dict[str, Any]]
    result: asyncio.Future[dict[str, Any]]
    sentinel: asyncio.Event
    counts: dict[int, int] = field(default_factory=dict)
    reader: asyncio.Task[None] | None = None


async def read_worker(worker: Worker, progress: asyncio.Event) -> None:
    assert worker.process.stdout is not None
    while line := await worker.process.stdout.readline():
        message = json.loads(line)
        kind = message.get("event")
        if kind == "progress":
            worker.counts = {int(scenario): count for scenario, count in message["counts"].items()}
            progress.set()
        elif kind == "sentinel":
            worker.sentinel.set()
        elif kind == "ready" and not worker.ready.done():
            worker.ready.set_result(message)
        elif kind == "result" and not worker.result.done():
            worker.result.set_result(message)
    for future in (worker.ready, worker.result):
        if not future.done():
            future.set_exception(BenchError(f"client process {worker.process.pid} exited early"))
            future.exception()  # retrieved: no "never retrieved" warning if nobody waits


async def start_workers(
    args: argparse.Namespace,
    servers: list[Server],
    tokens: list[str],
    marker: str,
    env: dict[str, str],
    deadline: Deadline,
    log_dir: Path,
    progress: asyncio.Event,
) -> list[Worker]:
    shares: list[list[list[Any]]] = [[] for _ in range(args.client_procs)]
    for index, token in enumerate(tokens):
        port = servers[index % len(servers)].port
        shares[index % args.client_procs].append(
            [index, f"ws://127.0.0.1:{port}/ws/events/?token={token}", f"http://127.0.0.1:{port}"]
        )
    loop = asyncio.get_running_loop()
    workers = []
    options = {name: getattr(args, name) for name in WORKER_OPTIONS}
    options["connect_concurrency"] = max(1, args.connect_concurrency // args.client_procs)
    for number, share in enumerate(shares):
        config = log_dir / f"client-{number}.json"
        config.write_text(json.dumps({"clients": share, "marker": marker, "deadline": deadline.left(), **options}))
        with open(log_dir / f"client-{number}.log", "wb") as stderr_log:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                str(THIS_FILE),
                "--worker",
                str(config),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr_log,
                env=env,
                cwd=str(ROOT),
                limit=STREAM_LIMIT,
            )
        worker = Worker(process, loop.create_future(), loop.create_future(), asyncio.Event())
        workers.append(worker)
        worker.reader = asyncio.create_task(read_worker(worker, progress))
    return workers


async def send_messages(
    connections: list[KeepAlive], path: str, marker: str, scenario: int, rate: float, count: int
) -> list[Send]:
    """Post `count` messages, message k due at t0 + k / rate, each by the first free connection."""
    t0 = time.monotonic() + 0.05
    sends = [Send(planned=t0 + k / rate) for k in range(count)]
    due = iter(range(count))

    async def sender(connection: KeepAlive) -> None:
        for k in due:
            send = sends[k]
            await asyncio.sleep(max(0.0, send.planned - time.monotonic()))
            before = time.monotonic()
            try:
                body = message_body(f"{marker} {scenario} {k}")
                send.status, send.started, _ = await connection.request("POST", path, body)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, BenchError) as error:
                send.started = before
                send.error = f"{type(error).__name__}: {error}"[:200]
            send.ms = (time.monotonic() - before) * 1000

    await asyncio.gather(*(sender(connection) for connection in connections))
    return sends


async def wait_for_deliveries(
    workers: list[Worker], scenario: int, expected: int, progress: asyncio.Event, stall: float, deadline: Deadline
) -> int:
    """Wait until `expected` deliveries of the scenario arrived, or none came for `stall` seconds."""
    last_total, last_change = -1, time.monotonic()
    while True:
        total = sum(worker.counts.get(scenario, 0) for worker in workers)
        if total >= expected:
            return total
        if total != last_total:
            last_total, last_change = total, time.monotonic()
        elif time.monotonic() - last_change > stall:
            return total
        progress.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(progress.wait(), timeout=deadline.left(0.5))


def describe_scenario(
    size: int,
    rate: float,
    sends: list[Send],
    members_connected: int,
    arrivals: dict[int, list[float]],
) -> dict[str, Any]:
    """The figures of one scenario from the sends and every member's arrival times."""
    stored = [k for k, send in enumerate(sends) if send.status in {200, 201}]
    started = [send.started for send in sends if send.started is not None]
    latencies: list[float] = []
    complete_ms: list[float] = []
    last_arrival = None
    for k in stored:
        sent_at = sends[k].started
        assert sent_at is not None
        times = arrivals.get(k, [])
        latencies.extend((arrival - sent_at) * 1000 for arrival in times)
        if times:
            last_arrival = max(last_arrival or 0.0, max(times))
        if len(times) >= members_connected:
            complete_ms.append((max(times) - sent_at) * 1000)
    window = (last_arrival - min(started)) if started and last_arrival is not None else None
    send_span = (max(started) - min(started)) if len(started) > 1 else None
    lag = [(send.started - send.planned) * 1000 for send in sends if send.started is not None]
    post_ms = [send.ms for send in sends if send.ms is not None]
    statuses: dict[str, int] = {}
    for send in sends:
        key = str(send.status) if send.status is not None else "error"
        statuses[key] = statuses.get(key, 0) + 1
    return {
        "group_members": size,
        "member_sockets": members_connected,
        "rate_target": rate,
        "messages": len(sends),
        "messages_stored": len(stored),
        "send_rate_achieved": rounded((len(started) - 1) / send_span if send_span else None, 2),
        "http_statuses": statuses,
        "http_error_samples": list(dict.fromkeys(send.error for send in sends if send.error))[:3],
        "deliveries_expected": len(stored) * members_connected,
        "deliveries_received": len(latencies),
        "deliveries_per_s": rounded(len(latencies) / window if window else None),
        "latency_ms_p50": rounded(percentile(latencies, 0.50)),
        "latency_ms_p90": rounded(percentile(latencies, 0.90)),
        "latency_ms_p99": rounded(percentile(latencies, 0.99)),
        "latency_ms_max": rounded(max(latencies) if latencies else None),
        "fanout_complete_ms_p50": rounded(percentile(complete_ms, 0.50)),
        "fanout_complete_ms_p99": rounded(percentile(complete_ms, 0.99)),
        "messages_complete": len(complete_ms),
        "post_ms_p50": rounded(percentile(post_ms, 0.50)),
        "post_ms_p99": rounded(percentile(post_ms, 0.99)),
        "send_lag_ms_p99": rounded(percentile(lag, 0.99)),
        "first_send_to_last_arrival_s": rounded(window, 2),
    }


async def run_clients(
    args: argparse.Namespace,
    servers: list[Server],
    users: list[list[Any]],
    conversations: list[str],
    env: dict[str, str],
    deadline: Deadline,
    log_dir: Path,
    report: dict[str, Any],
) -> None:
    sender_token = users[0][1]
    marker = f"bench {uuid.uuid4().hex[:8]}"
    await warm_up(servers, sender_token, timeout=deadline.left(30))
    for number, server in enumerate(servers):  # the chat path too, before anyone listens
        warm = KeepAlive(server.port, sender_token, deadline.left(30))
        path = f"/api/chat/conversations/{conversations[0]}/messages/"
        status, _, content = await warm.request("POST", path, message_body(f"warm-up {number}"))
        warm.close()
        if status != 201:
            raise BenchError(f"warm-up message on port {server.port} answered {status}: {content[:300]!r}")
    await asyncio.sleep(1)
    groups: dict[str, list[int]] = {"daphne": [server.process.pid for server in servers], "clients": []}
    groups["sender"] = [os.getpid()]
    progress = asyncio.Event()
    workers: list[Worker] = []
    try:
        connect_started = cpu_snapshot(groups)
        tokens = [token for _, token in users]
        workers = await start_workers(args, servers, tokens, marker, env, deadline, log_dir, progress)
        groups["clients"] = [worker.process.pid for worker in workers]
        timeout = deadline.left(args.connect_phase_timeout + 30)
        readies = [await asyncio.wait_for(worker.ready, timeout=timeout) for worker in workers]
        connected = {index for ready in readies for index in ready["connected"]}
        report["connected"] = len(connected)
        report["connect_seconds"] = max(ready["seconds"] for ready in readies)
        report["connect_retries"] = sum(ready["retries"] for ready in readies)
        report["connect_error_samples"] = list(dict.fromkeys(e for ready in readies for e in ready["errors"]))[:5]
        log(f"{len(connected)}/{len(users)} clients connected in {report['connect_seconds']} s; sentinel")
        if not connected:
            raise BenchError("no client could connect; see the daphne logs")

        change = {"status": "busy", "duration": "until_changed", "custom_text": f"{marker} sentinel"}
        started = time.monotonic()
        status, _ = await http_request(servers[0].port, "PUT", "/api/presence/", sender_token, change, 30)
        if status != 200:
            raise BenchError(f"the sentinel presence change answered {status}")
        waits = [asyncio.create_task(worker.sentinel.wait()) for worker in workers]
        _, pending = await asyncio.wait(waits, timeout=deadline.left(args.storm_timeout))
        for task in pending:
            task.cancel()
        if pending:
            raise BenchError(f"the connect storm was not delivered within --storm-timeout {args.storm_timeout} s")
        report["storm_drain_seconds"] = round(time.monotonic() - started, 2)
        report["cpu_seconds_connect_phase"] = cpu_delta(connect_started, cpu_snapshot(groups))
        idle = cpu_snapshot(groups)  # what 1000 idle sockets cost: the heartbeats
        await asyncio.sleep(5)
        report["cpu_seconds_idle_5s"] = cpu_delta(idle, cpu_snapshot(groups))

        connections = [
            KeepAlive(servers[number % len(servers)].port, sender_token, args.http_timeout)
            for number in range(args.senders)
        ]
        attempts: list[Attempt] = []
        for position, (size, rate) in enumerate(zip(args.sizes, args.rates, strict=True)):
            members = sum(1 for index in range(size) if index in connected)
            for _ in range(args.busy_retries + 1):
                await asyncio.sleep(args.pause)
                ours = set(groups["daphne"] + groups["clients"] + groups["sender"])
                attempt = Attempt(position, len(attempts), size, rate, members)
                attempt.waited_for_quiet_s = await wait_until_quiet(ours, deadline.left(args.quiet_timeout))
                attempts.append(attempt)
                count = max(1, round(rate * args.duration))
                log(f"scenario {position}: {count} messages at {rate}/s into {size} members ({members} connected)")
                before, everyone_before = cpu_snapshot(groups), cpu_by_process()
                path = f"/api/chat/conversations/{conversations[position]}/messages/"
                attempt.sends = await send_messages(connections, path, marker, attempt.number, rate, count)
                stored = sum(1 for send in attempt.sends if send.status in {200, 201})
                received = await wait_for_deliveries(
                    workers, attempt.number, stored * members, progress, args.drain_timeout, deadline
                )
                attempt.cpu = cpu_delta(before, cpu_snapshot(groups))
                attempt.cpu["others_cores"] = others_cores(everyone_before, cpu_by_process(), ours, attempt.cpu["wall"])
                attempt.redis_used_memory_mb = redis_used_memory_mb(args.redis_url)
                log(f"scenario {position}: {received}/{stored * members}, others {attempt.cpu['others_cores']} cores")
                if attempt.cpu["others_cores"] <= OTHERS_TOLERATED_CORES:
                    break
        for connection in connections:
            connection.close()

        for worker in workers:
            assert worker.process.stdin is not None
            worker.process.stdin.write(b"stop\n")
            await worker.process.stdin.drain()
        results = [await asyncio.wait_for(worker.result, timeout=deadline.left(120)) for worker in workers]
    finally:
        for server in servers:  # before the clients close: no disconnect storm
            stop_process(server.process)
        await stop_workers(workers)

    measured: dict[int, list[dict[str, Any]]] = {}  # scenario -> its attempts
    for attempt in attempts:
        arrivals: dict[int, list[float]] = {}
        for result in results:
            for k, times in result["times"].get(str(attempt.number), {}).items():
                arrivals.setdefault(int(k), []).extend(times)
        figures = describe_scenario(attempt.size, attempt.rate, attempt.sends, attempt.members, arrivals)
        figures["waited_for_quiet_s"] = attempt.waited_for_quiet_s
        figures["cpu_seconds"] = attempt.cpu
        figures["redis_used_memory_mb"] = attempt.redis_used_memory_mb
        measured.setdefault(attempt.position, []).append(figures)
    scenarios = []
    for tries in measured.values():  # the attempt with the quietest machine counts; the others are kept
        best = min(tries, key=lambda figures: figures["cpu_seconds"]["others_cores"])
        busy = [
            {key: value for key, value in tried.items() if key not in BUSY_OMITTED}
            for tried in tries
            if tried is not best
        ]
        scenarios.append({**best, "busy_attempts": busy} if busy else best)
    report["scenarios"] = scenarios
    report["clients_lost"] = sum(result["lost"] for result in results)
    report["duplicate_deliveries"] = sum(result["duplicates"] for result in results)
    report["client_errors"] = sum(result["errors"] for result in results)
    report["client_error_samples"] = list(dict.fromkeys(e for result in results for e in result["error_samples"]))[:5]
    report["other_event_types"] = merged_counts([result["other_types"] for result in results])


async def stop_workers(workers: list[Worker]) -> None:
    """Close each client process's stdin, which ends it; kill (by PID) one still there 15 s later."""
    for worker in workers:
        if worker.process.stdin is not None:
            worker.process.stdin.close()
    for worker in workers:
        try:
            await asyncio.wait_for(worker.process.wait(), timeout=15)
        except TimeoutError:
            worker.process.kill()  # by PID
            await asyncio.wait_for(worker.process.wait(), timeout=15)
        if worker.reader is not None:
            worker.reader.cancel()


def goal_of(report: dict[str, Any]) -> dict[str, Any]:
    goal: dict[str, Any] = {
        "group_members": GOAL_GROUP,
        "rate": GOAL_RATE,
        "deliveries_per_s": GOAL_DELIVERIES_PER_S,
        "latency_ms_p99": GOAL_P99_MS,
    }
    measured = [
        scenario
        for scenario in report.get("scenarios", [])
        if scenario["group_members"] == GOAL_GROUP and scenario["rate_target"] == GOAL_RATE
    ]
    if not measured or "error" in report:
        goal["met"] = None if not measured else False
        return goal
    scenario = measured[0]
    p99, rate = scenario["latency_ms_p99"], scenario["deliveries_per_s"]
    goal["others_cores"] = scenario["cpu_seconds"].get("others_cores")  # > 0.15: a busy machine
    goal["met"] = bool(
        scenario["deliveries_received"] == scenario["deliveries_expected"] > 0
        and scenario["messages_stored"] == scenario["messages"]
        and rate is not None
        and rate >= GOAL_DELIVERIES_PER_S
        and p99 is not None
        and p99 <= GOAL_P99_MS
    )
    return goal


def run(args: argparse.Namespace) -> dict[str, Any]:
    deadline = Deadline(args.timeout)
    open_files = raise_open_files_limit()  # inherited by daphne and the client processes
    if open_files < args.clients * 2 + 100:
        raise BenchError(f"open-files limit {open_files} is too low for {args.clients} clients")
    log_dir = Path(tempfile.mkdtemp(prefix="toc-chat-fanout-"))
    extra = {"TOC_CHANNEL_PREFIX": "tocbenchchat", "DJANGO_SETTINGS_MODULE": "toc.settings"}
    extra.update(item.split("=", 1) for item in args.env)  # --env KEY=VALUE (checked in parse_args)
    env = server_env(args.database_url, args.redis_url, log_dir / "var", extra)
    report: dict[str, Any] = {
        "clients": args.clients,
        "daphne_processes": args.servers,
        "client_processes": args.client_procs,
        "senders": args.senders,
        "duration_s": args.duration,
        "extra_env": args.env,
    }
    servers: list[Server] = []
    created = False
    try:
        log("creating the database")
        reused = create_database(args.database_url, keep=args.keep)
        created = True
        flush_redis(args.redis_url)
        log("migrating" + (" (reused database)" if reused else ""))
        run_step("migrate", [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], env, deadline)
        log(f"creating {args.clients} users and groups of {args.sizes}")
        seeded = run_step("seeding", [sys.executable, str(PRESENCE_BENCH), "--seed", str(args.clients)], env, deadline)
        users = json.loads(seeded)["users"]
        spec = log_dir / "groups.json"
        spec.write_text(json.dumps({"user_ids": [user_id for user_id, _ in users], "sizes": args.sizes}))
        grouped = run_step("groups", [sys.executable, str(THIS_FILE), "--seed-groups", str(spec)], env, deadline)
        conversations = json.loads(grouped)["conversations"]
        log(f"starting {args.servers} daphne process(es)")
        servers = start_servers(args.servers, env, log_dir, deadline)
        work = run_clients(args, servers, users, conversations, env, deadline, log_dir, report)
        try:
            asyncio.run(guarded(work, deadline.left()))
        finally:
            signal.signal(signal.SIGTERM, on_sigterm)  # closing the loop reset it to the default
    except (BenchError, TimeoutError, OSError, subprocess.SubprocessError) as error:
        report["error"] = f"{type(error).__name__}: {error}"
        for server in servers:
            report.setdefault("daphne_log_tail", []).append(tail(server.log_path, 10))
    except (KeyboardInterrupt, Interrupted, asyncio.CancelledError):
        report["error"] = "interrupted"
    finally:
        for server in servers:
            stop_process(server.process)
        report["server_errors"] = server_errors(servers)
        clean_up_stores(args.database_url, args.redis_url, drop=created and not args.keep)
        shutil.rmtree(log_dir, ignore_errors=True)
    report["goal"] = goal_of(report)
    report["goal_met"] = report["goal"]["met"] is True
    report["machine"] = machine_info()
    report["date"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    report["source"] = source_revision()
    report["command"] = " ".join([".venv/bin/python", "bench/chat_fanout.py", *sys.argv[1:]])
    return report


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clients", type=int, default=1000, help="WebSocket clients, one user each (default 1000)")
    parser.add_argument("--groups", default="10,100,1000", help="group sizes, one scenario each (default 10,100,1000)")
    parser.add_argument("--rate", default="50", help="messages/s: one for all groups, or one per group (default 50)")
    parser.add_argument("--duration", type=float, default=10, help="seconds of sending per scenario (default 10)")
    parser.add_argument("--senders", type=int, default=8, help="keep-alive HTTP connections posting (default 8)")
    parser.add_argument("--servers", type=int, default=2, help="daphne processes (default 2: one per core)")
    parser.add_argument("--client-procs", type=int, default=1, help="client processes (default 1)")
    parser.add_argument("--heartbeat", type=float, default=-1, help="ping every S s; -1: as the server asks; 0: off")
    parser.add_argument("--pause", type=float, default=2, help="quiet seconds before each scenario (default 2)")
    parser.add_argument("--busy-retries", type=int, default=2, help="measure again while others are busy (default 2)")
    parser.add_argument("--quiet-timeout", type=float, default=120, help="wait for a quiet machine at most (s)")
    parser.add_argument("--connect-concurrency", type=int, default=50, help="handshakes in flight (default 50)")
    parser.add_argument("--connect-retries", type=int, default=5, help="retries of a failed handshake")
    parser.add_argument("--connect-timeout", type=float, default=30, help="per-socket open timeout (s)")
    parser.add_argument("--connect-phase-timeout", type=float, default=600, help="all sockets open within (s)")
    parser.add_argument("--storm-timeout", type=float, default=600, help="deliver the connect storm within (s)")
    parser.add_argument("--http-timeout", type=float, default=30, help="one POST at most (s)")
    parser.add_argument("--drain-timeout", type=float, default=15, help="end a scenario after S s without deliveries")
    parser.add_argument("--timeout", type=float, default=1800, help="the whole run at most (s)")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/toc_bench_chat")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/10")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="extra server env")
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the database")
    parser.add_argument("--json", action="store_true", help="print only the JSON report")
    parser.add_argument("--seed-groups", help=argparse.SUPPRESS)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if min(args.clients, args.servers, args.client_procs, args.senders) < 1 or args.duration <= 0:
        parser.error("--clients, --servers, --client-procs and --senders must be at least 1, --duration above 0")
    try:
        sizes = [int(size) for size in args.groups.split(",")]
        rates = [float(rate) for rate in args.rate.split(",")]
    except ValueError:
        parser.error("--groups and --rate are comma-separated numbers")
    if any(size < 2 for size in sizes) or any(rate <= 0 for rate in rates) or len(rates) not in {1, len(sizes)}:
        parser.error("groups have at least 2 members; give one rate above 0, or one per group")
    args.sizes = [min(size, args.clients) for size in sizes]  # a group cannot be larger than the users
    if min(args.sizes) < 2:
        parser.error("--clients must be at least 2")
    args.rates = rates * len(sizes) if len(rates) == 1 else rates
    if any("=" not in item for item in args.env):
        parser.error("--env takes KEY=VALUE")
    args.client_procs = min(args.client_procs, args.clients)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.worker:
        worker_entry(args.worker)
        return 0
    if args.seed_groups:
        seed_groups(args.seed_groups)
        return 0
    signal.signal(signal.SIGTERM, on_sigterm)
    return print_report(run(args), as_json=args.json)


if __name__ == "__main__":
    sys.exit(main())
