"""Live presence fan-out on the production configuration: PostgreSQL + Redis + daphne.

Usage (from the repository root):

    .venv/bin/python bench/presence_fanout.py --clients 1000 --json

Method
------
1. Setup. Creates a PostgreSQL database of its own (default ``toc_bench_fanout`` on
   127.0.0.1:5432, user postgres), runs ``manage.py migrate``, and in a subprocess with
   ``DJANGO_SETTINGS_MODULE`` set creates one organisation and N SSO-only users (no password
   hashing) through ``toc.accounts.services`` plus a DRF token each. Flushes its own Redis
   database (default ``redis://127.0.0.1:6379/9``; only that database is ever flushed).
2. Server. Starts ``--servers`` daphne processes (``python -m daphne toc.asgi:application``) on
   free 127.0.0.1 ports with ``DEBUG=false`` and the production settings (RedisChannelLayer;
   ``--layer pubsub`` swaps in RedisPubSubChannelLayer through ``bench/layer_settings.py``).
   One HTTP request and one socket per process warm the code paths; then the daphne RSS
   (psutil, summed over the processes) is the memory baseline.
3. Clients. ``--client-procs`` subprocesses (this file with ``--worker``) open N sockets to
   ``/ws/events/?token=<key>``, one per user, spread round-robin over the daphne processes,
   at most ``--connect-concurrency`` handshakes in flight; like the web client, a failed
   handshake is retried with backoff (``--connect-retries``). Like the web client they send the
   JSON heartbeat ``{"type": "ping"}`` every ``heartbeat_seconds`` (``--heartbeat 0`` turns
   it off). Every connect makes that user online, which the server announces to the whole
   organisation, so connecting N clients makes the server deliver up to N² presence events
   (every connect is announced to every socket already in the group). A sentinel change
   (k = 0) ends this storm: every announcement was queued before it and a process delivers in
   order, so once every client has it the storm is over (``storm_drain_seconds``). Two
   seconds later the RSS is read again: (after - baseline) / N is ``memory_kb_per_connection``.
4. Changes. User 0 changes its presence ``--changes`` more times with ``PUT /api/presence/``
   (``Authorization: Token``), each with a unique ``custom_text`` (``bench <run> <k>``).
   Each client records the arrival time (``time.monotonic``, CLOCK_MONOTONIC, shared by all
   processes of the machine) of the ``presence.changed`` event of user 0 with that text;
   online/offline announcements and pongs are ignored. The next change is sent only when every
   client has the previous one (or after ``--change-timeout``) plus ``--interval``, so changes
   never overlap. Latency = arrival - moment just before the PUT was written to the socket,
   i.e. HTTP + auth + DB transaction + channel layer + daphne fan-out + client event loop.
   ``latency_ms_p50/p99`` are over every (change, client) delivery; ``fanout_complete_ms_*``
   is, per change, the time until the last client had it.
5. Teardown (always, in ``finally``): results are collected, the daphne processes are
   terminated (before the clients close, so no disconnect storm is measured or waited for),
   the client processes are stopped, every by its PID; the database is dropped (unless
   ``--keep``) and the Redis database flushed.

The clients share the machine with the server, Redis and PostgreSQL: on a small machine their
CPU time is part of what is measured (``cpu_seconds`` shows who used the CPU in each phase).
All traffic goes to 127.0.0.1. Every wait is bounded and ``--timeout`` bounds the whole run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import math
import os
import platform
import random
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
THIS_FILE = Path(__file__).resolve()
ORG_SLUG = "bench-fanout"
EMAIL_DOMAIN = "fanout.example.com"
GOAL_CLIENTS = 1000
GOAL_P99_MS = 250.0
GOAL_KB_PER_CONNECTION = 100.0
STREAM_LIMIT = 64 * 1024 * 1024
LAYERS = {"redis": "as in toc.settings (RedisChannelLayer)", "pubsub": "RedisPubSubChannelLayer"}


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


class BenchError(Exception):
    """The run cannot go on; the message says why."""


class Interrupted(BaseException):
    """SIGTERM: stop like Ctrl-C (everything started is stopped, the database dropped)."""


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self, cap: float | None = None) -> float:
        remaining = self.end - time.monotonic()
        if remaining <= 0:
            raise BenchError("overall --timeout reached")
        return remaining if cap is None else min(remaining, cap)


def run_step(name: str, command: list[str], env: dict[str, str], deadline: Deadline) -> bytes:
    """Run one set-up command to completion (bounded by the deadline); its stdout, or BenchError."""
    result = subprocess.run(
        command, cwd=str(ROOT), env=env, capture_output=True, timeout=deadline.left(600), check=False
    )
    if result.returncode != 0:
        raise BenchError(f"{name} failed:\n{result.stderr.decode(errors='replace')[-2000:]}")
    return result.stdout


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile (the value below which `fraction` of the values lie)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def raise_open_files_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def machine_info() -> dict[str, Any]:
    cpu_model = platform.processor() or "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    import psutil

    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_total_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def source_revision() -> str:
    """The git commit of the code measured, with "+dirty" when the work tree has changes."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (commit or "unknown") + ("+dirty" if dirty else "")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# --------------------------------------------------------------------------------------------
# Setup: database, migrations, users (the seed step runs in a subprocess with Django loaded)
# --------------------------------------------------------------------------------------------


def admin_dsn(database_url: str) -> tuple[str, str]:
    """The libpq DSN of the maintenance database `postgres`, and the bench database's name."""
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    if not name or not name.replace("_", "").isalnum():
        raise BenchError(f"unusable database name in {database_url!r}")
    if parts.hostname not in {"127.0.0.1", "localhost"}:
        raise BenchError("the bench only talks to a local PostgreSQL (127.0.0.1)")
    return urlunsplit(parts._replace(path="/postgres")), name


def create_database(database_url: str, *, keep: bool) -> bool:
    """Create the bench database; returns whether it already existed (reused with --keep)."""
    import psycopg

    dsn, name = admin_dsn(database_url)
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None
        if exists and keep:
            return True
        if exists:
            connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')  # name checked in admin_dsn
        connection.execute(f'CREATE DATABASE "{name}"')
    return False


def drop_database(database_url: str) -> None:
    import psycopg

    dsn, name = admin_dsn(database_url)
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def flush_redis(redis_url: str) -> None:
    import redis

    parts = urlsplit(redis_url)
    if parts.hostname not in {"127.0.0.1", "localhost"}:
        raise BenchError("the bench only talks to a local Redis (127.0.0.1)")
    if parts.path.strip("/") in {"", "0"}:
        raise BenchError("give the bench a Redis database of its own, e.g. redis://127.0.0.1:6379/9")
    client = redis.Redis.from_url(redis_url, socket_timeout=10, socket_connect_timeout=10)
    try:
        client.flushdb()
    finally:
        client.close()


def clean_up_stores(database_url: str, redis_url: str, *, drop: bool) -> None:
    """After a run: drop the bench database (when `drop`) and flush the bench's Redis database."""
    if drop:
        with contextlib.suppress(Exception):
            drop_database(database_url)
    with contextlib.suppress(Exception):
        flush_redis(redis_url)


def server_env(database_url: str, redis_url: str, var_dir: Path, extra: dict[str, str]) -> dict[str, str]:
    """The environment of the server processes: production settings, DEBUG off, no proxies."""
    env = dict(os.environ)
    for proxy in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        env.pop(proxy, None)
    env.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SECRET_KEY": "bench-" + secrets.token_hex(24),
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "TOC_VAR_DIR": str(var_dir),
            "PYTHONPATH": str(ROOT),
            "LOG_LEVEL": "WARNING",
            "NO_PROXY": "*",
            **extra,
        }
    )
    return env


def print_report(report: dict[str, Any], *, as_json: bool) -> int:
    """Print the report (JSON, or one `key: value` a line); the exit status: 1 when it has an error."""
    output: IO[str] = sys.stdout
    if as_json:
        output.write(json.dumps(report, indent=2) + "\n")
    else:
        for key, value in report.items():
            output.write(f"{key}: {value}\n")
    return 0 if "error" not in report else 1


def seed(clients: int) -> None:
    """(Subprocess, Django loaded.) Create or reuse the organisation and users; print their tokens."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from rest_framework.authtoken.models import Token

    from toc.accounts import services as account_services
    from toc.accounts.models import Organisation, User
    from toc.presence.models import Connection

    organisation = Organisation.objects.filter(slug=ORG_SLUG).first()
    if organisation is None:
        organisation = account_services.create_organisation(name="Bench fan-out", slug=ORG_SLUG)
    existing = {user.email: user for user in User.objects.filter(organisation=organisation)}
    users: list[User] = []
    for index in range(clients):
        email = f"user{index:05d}@{EMAIL_DOMAIN}"
        user = existing.get(email) or account_services.create_user(
            organisation=organisation, email=email, password=None, first_name="Bench", last_name=f"{index:05d}"
        )
        users.append(user)
    # Connections left by an interrupted earlier run (--keep) would make users look online.
    Connection.objects.filter(organisation=organisation).delete()
    tokens = {token.user_id: token.key for token in Token.objects.filter(user__in=users)}
    for user in users:
        if user.pk not in tokens:
            tokens[user.pk] = Token.objects.create(user=user).key
    print(json.dumps({"organisation_id": organisation.pk, "users": [[user.pk, tokens[user.pk]] for user in users]}))


# --------------------------------------------------------------------------------------------
# Client worker (subprocess): N sockets, arrival times of the bench's presence changes
# --------------------------------------------------------------------------------------------


def emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message, separators=(",", ":")) + "\n")
    sys.stdout.flush()


async def worker_main(config: dict[str, Any], stdin: asyncio.StreamReader) -> None:
    from websockets.asyncio.client import ClientConnection, connect
    from websockets.exceptions import ConnectionClosed
    from websockets.typing import Origin

    urls: list[list[str]] = config["clients"]  # [url, origin]
    marker: str = config["marker"]
    actor_id: int = config["actor_id"]
    changes: int = config["changes"]
    open_timeout: float = config["connect_timeout"]
    heartbeat: float = config["heartbeat"]
    arrivals: list[list[float | None]] = [[None] * len(urls) for _ in range(changes)]
    counts = [0] * changes
    reported: set[int] = set()
    errors: list[str] = []  # after the handshake (sockets closed by the server)
    connect_errors: list[str] = []  # failed handshake attempts (each retried up to connect_retries)
    other_messages = 0
    other_types: dict[str, int] = {}
    sockets: list[ClientConnection | None] = [None] * len(urls)
    connected = 0
    retries = 0
    lost = 0  # sockets the server closed during the run
    attempts_done = 0
    all_attempted = asyncio.Event()
    stopping = False
    semaphore = asyncio.Semaphore(config["connect_concurrency"])

    def check_complete(k: int) -> None:
        """Report change k once every socket still open has it (a closed socket is a client lost)."""
        if k not in reported and all_attempted.is_set() and counts[k] > 0 and counts[k] >= connected - lost:
            reported.add(k)
            emit({"event": "got", "k": k, "count": counts[k]})

    async def pinger(ws: ClientConnection, every: float) -> None:
        with contextlib.suppress(ConnectionClosed):
            await asyncio.sleep(random.uniform(0, every))
            while True:
                await ws.send('{"type":"ping"}')
                await asyncio.sleep(every)

    async def open_socket(url: str, origin: str) -> tuple[ClientConnection, dict[str, Any]]:
        ws = await connect(
            url,
            origin=Origin(origin),
            open_timeout=open_timeout,
            ping_interval=None,
            compression=None,
            proxy=None,
            close_timeout=1,
            max_queue=None,
        )
        try:
            hello = json.loads(await asyncio.wait_for(ws.recv(), timeout=open_timeout))
            if hello.get("type") != "realtime.connected":
                raise BenchError(f"unexpected first message {hello!r}")
        except BaseException:
            ws.transport.abort()
            raise
        return ws, hello

    async def client(index: int, url: str, origin: str) -> None:
        nonlocal connected, attempts_done, other_messages, lost, retries
        ws: ClientConnection | None = None
        hello: dict[str, Any] = {}
        try:
            for attempt in range(1 + config["connect_retries"]):
                if attempt:  # like the web client: back off, then try again
                    retries += 1
                    await asyncio.sleep(min(30.0, 2.0**attempt) * random.uniform(0.5, 1.0))
                async with semaphore:
                    try:
                        ws, hello = await open_socket(url, origin)
                        break
                    except Exception as error:  # noqa: BLE001 - every failed attempt is counted, not fatal
                        connect_errors.append(f"{type(error).__name__}: {error}"[:300])
            if ws is not None:
                sockets[index] = ws
                connected += 1
        finally:
            attempts_done += 1
            if attempts_done == len(urls):
                all_attempted.set()
        if ws is None:
            return
        every = float(hello.get("heartbeat_seconds", 0)) if heartbeat < 0 else heartbeat
        ping_task = asyncio.create_task(pinger(ws, every)) if every > 0 else None
        try:
            async for raw in ws:
                now = time.monotonic()
                if isinstance(raw, str) and marker in raw:
                    event = json.loads(raw)
                    presence = event.get("presence") or {}
                    text = str(presence.get("custom_text", ""))
                    if event.get("type") == "presence.changed" and presence.get("user_id") == actor_id:
                        k = int(text.rsplit(" ", 1)[1])
                        if 0 <= k < changes and arrivals[k][index] is None:
                            arrivals[k][index] = now
                            counts[k] += 1
                            check_complete(k)
                        continue
                other_messages += 1
                if isinstance(raw, str):  # the type is the first key: count without parsing
                    kind = raw[: raw.find(",")].removeprefix('{"type": ').strip('"')
                    other_types[kind] = other_types.get(kind, 0) + 1
        except ConnectionClosed as error:
            if not stopping:
                errors.append(f"closed: {error}"[:300])
        finally:
            if ping_task is not None:
                ping_task.cancel()
            if not stopping:
                lost += 1
                for k in range(changes):
                    check_complete(k)

    tasks = [asyncio.create_task(client(i, url, origin)) for i, (url, origin) in enumerate(urls)]
    started = time.monotonic()
    try:
        await asyncio.wait_for(all_attempted.wait(), timeout=config["connect_phase_timeout"])
    except TimeoutError:
        connect_errors.append("connect phase timed out")
        all_attempted.set()
    emit(
        {
            "event": "ready",
            "connected": connected,
            "failed": len(urls) - connected,
            "retries": retries,
            "seconds": round(time.monotonic() - started, 3),
            "errors": connect_errors[:5],
        }
    )
    # Commands from the coordinator: "stop" (report), then "exit".
    while True:
        line = await stdin.readline()
        command = line.decode().strip()
        if command == "stop" or not line:
            stopping = True
            emit(
                {
                    "event": "result",
                    "arrivals": arrivals,
                    "connected": connected,
                    "lost": lost,
                    "other_messages": other_messages,
                    "other_types": other_types,
                    "errors": len(errors),
                    "error_samples": errors[:10],
                }
            )
        if command == "exit" or not line:
            break
    for ws in sockets:
        if ws is not None:
            ws.transport.abort()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def worker_entry() -> None:
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader(limit=STREAM_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    config = json.loads(await asyncio.wait_for(stdin.readline(), timeout=60))
    await asyncio.wait_for(worker_main(config, stdin), timeout=config["deadline"])


# --------------------------------------------------------------------------------------------
# Coordinator
# --------------------------------------------------------------------------------------------


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path


@dataclass
class Worker:
    process: asyncio.subprocess.Process
    ready: asyncio.Future[dict[str, Any]]
    result: asyncio.Future[dict[str, Any]]
    got: dict[int, asyncio.Event] = field(default_factory=dict)


def stop_process(process: subprocess.Popen[bytes], grace: float = 10) -> None:
    if process.poll() is not None:
        return
    process.terminate()  # by PID
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=grace)


def server_pids(servers: list[Server]) -> list[int]:
    return [server.process.pid for server in servers]


def rss_bytes(pids: list[int]) -> int:
    import psutil

    return sum(psutil.Process(pid).memory_info().rss for pid in pids)


def cpu_seconds(pids: list[int], *, children: bool = False) -> float:
    import psutil

    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
            if children:  # exited children (e.g. PostgreSQL backends of closed connections)
                total += times.children_user + times.children_system
    return total


def service_pids(name: str) -> list[int]:
    """PIDs of the shared Redis/PostgreSQL servers, only read (CPU time), never signalled."""
    import psutil

    found = []
    for process in psutil.process_iter(["name"]):
        if (process.info["name"] or "").startswith(name):
            found.append(process.pid)
    return found


def cpu_snapshot(groups: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds used so far by our processes and by the shared Redis and PostgreSQL servers."""
    import psutil

    snapshot = {name: cpu_seconds(pids) for name, pids in groups.items()}
    snapshot["redis"] = cpu_seconds(service_pids("redis-server"))
    snapshot["postgres"] = cpu_seconds(service_pids("postgres"), children=True)
    machine = psutil.cpu_times()
    snapshot["machine_busy"] = machine.user + machine.system + machine.nice + machine.irq + machine.softirq
    snapshot["wall"] = time.monotonic()
    return snapshot


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    wall = after["wall"] - before["wall"]
    delta = {name: round(after[name] - before[name], 2) for name in before if name not in {"wall", "machine_busy"}}
    delta["wall"] = round(wall, 2)
    delta["machine_cores_busy"] = round((after["machine_busy"] - before["machine_busy"]) / max(wall, 1e-9), 2)
    return delta


async def http_request(
    port: int, method: str, path: str, token: str, body: dict[str, Any] | None, timeout: float
) -> tuple[int, float]:
    """One HTTP/1.1 request on a fresh connection; returns (status, the moment it was sent)."""
    payload = json.dumps(body).encode() if body is not None else b""
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Token {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    ).encode()
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout=timeout)
    try:
        sent_at = time.monotonic()
        writer.write(head + payload)
        await writer.drain()
        response = await asyncio.wait_for(reader.read(), timeout=timeout)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer.wait_closed(), timeout=2)
    status_line = response.split(b"\r\n", 1)[0].decode(errors="replace")
    try:
        status = int(status_line.split()[1])
    except (IndexError, ValueError) as error:
        raise BenchError(f"bad HTTP response {status_line!r}") from error
    return status, sent_at


async def warm_up(servers: list[Server], token: str, timeout: float) -> None:
    from websockets.asyncio.client import connect
    from websockets.typing import Origin

    for server in servers:
        status, _ = await http_request(server.port, "GET", "/api/presence/", token, None, timeout)
        if status != 200:
            raise BenchError(f"GET /api/presence/ on port {server.port} answered {status}")
        url = f"ws://127.0.0.1:{server.port}/ws/events/?token={token}"
        async with connect(
            url, origin=Origin(f"http://127.0.0.1:{server.port}"), open_timeout=timeout, proxy=None, close_timeout=2
        ) as ws:
            hello = json.loads(await asyncio.wait_for(ws.recv(), timeout=timeout))
            if hello.get("type") != "realtime.connected":
                raise BenchError(f"warm-up socket got {hello!r}")


async def read_worker(worker: Worker, changes: int) -> None:
    assert worker.process.stdout is not None
    while True:
        line = await worker.process.stdout.readline()
        if not line:
            break
        message = json.loads(line)
        kind = message.get("event")
        if kind == "ready" and not worker.ready.done():
            worker.ready.set_result(message)
        elif kind == "got":
            worker.got.setdefault(int(message["k"]), asyncio.Event()).set()
        elif kind == "result" and not worker.result.done():
            worker.result.set_result(message)
    for future in (worker.ready, worker.result):
        if not future.done():
            future.set_exception(BenchError(f"client process {worker.process.pid} exited early"))
            future.exception()  # retrieved here too: no "never retrieved" warning if nobody waits


async def run_clients(
    args: argparse.Namespace,
    servers: list[Server],
    users: list[list[Any]],
    env: dict[str, str],
    deadline: Deadline,
    log_dir: Path,
    report: dict[str, Any],
) -> None:
    actor_id, actor_token = users[0]
    await warm_up(servers, actor_token, timeout=deadline.left(30))
    await asyncio.sleep(1)
    pids = server_pids(servers)
    rss_before = rss_bytes(pids)
    groups: dict[str, list[int]] = {"daphne": pids, "clients": []}

    marker = f"bench {secrets.token_hex(4)}"
    slices: list[list[list[str]]] = [[] for _ in range(args.client_procs)]
    for index, (_, token) in enumerate(users):
        port = servers[index % len(servers)].port
        slices[index % args.client_procs].append(
            [f"ws://127.0.0.1:{port}/ws/events/?token={token}", f"http://127.0.0.1:{port}"]
        )
    workers: list[Worker] = []
    readers: list[asyncio.Task[None]] = []
    loop = asyncio.get_running_loop()
    try:
        connect_started = cpu_snapshot(groups)
        for number, share in enumerate(slices):
            stderr_log = open(log_dir / f"client-{number}.log", "wb")
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                str(THIS_FILE),
                "--worker",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr_log,
                env=env,
                cwd=str(ROOT),
                limit=STREAM_LIMIT,
            )
            stderr_log.close()
            worker = Worker(process=process, ready=loop.create_future(), result=loop.create_future())
            workers.append(worker)
            groups["clients"].append(process.pid)
            readers.append(asyncio.create_task(read_worker(worker, args.changes)))
            config = {
                "clients": share,
                "marker": marker,
                "actor_id": actor_id,
                "changes": args.changes + 1,  # k = 0 is the sentinel that ends the connect storm
                "connect_timeout": args.connect_timeout,
                "connect_phase_timeout": args.connect_phase_timeout,
                "connect_concurrency": max(1, args.connect_concurrency // args.client_procs),
                "connect_retries": args.connect_retries,
                "heartbeat": args.heartbeat,
                "deadline": deadline.left(),
            }
            assert process.stdin is not None
            process.stdin.write(json.dumps(config).encode() + b"\n")
            await process.stdin.drain()
        connect_wall = time.monotonic()
        readies = [
            await asyncio.wait_for(worker.ready, timeout=deadline.left(args.connect_phase_timeout + 30))
            for worker in workers
        ]
        report["connect_seconds"] = round(time.monotonic() - connect_wall, 2)
        connected = sum(ready["connected"] for ready in readies)
        report["connected"] = connected
        report["connect_failures"] = sum(ready["failed"] for ready in readies)
        report["connect_retries"] = sum(ready["retries"] for ready in readies)
        report["connect_error_samples"] = list(dict.fromkeys(e for ready in readies for e in ready["errors"]))[:5]
        log(f"{connected}/{len(users)} clients connected in {report['connect_seconds']} s; waiting for the storm")
        if connected == 0:
            raise BenchError("no client could connect; see the daphne logs")

        sent_at: list[float | None] = [None] * (args.changes + 1)
        statuses = ["busy", "away"]

        async def change(k: int, timeout: float) -> tuple[int, float, float | None]:
            """Change presence (k-th time); returns (HTTP status, PUT ms, ms until every client had it)."""
            server = servers[k % len(servers)]
            body = {"status": statuses[k % 2], "duration": "until_changed", "custom_text": f"{marker} {k}"}
            before = time.monotonic()
            status, sent = await http_request(server.port, "PUT", "/api/presence/", actor_token, body, timeout)
            put = (time.monotonic() - before) * 1000
            sent_at[k] = sent
            if status != 200:
                return status, put, None
            waits = [asyncio.create_task(worker.got.setdefault(k, asyncio.Event()).wait()) for worker in workers]
            _done, pending = await asyncio.wait(waits, timeout=deadline.left(timeout))
            for task in pending:
                task.cancel()
            return status, put, None if pending else (time.monotonic() - sent) * 1000

        # Sentinel: every online announcement of the connect storm was queued before it (each
        # client got realtime.connected only after its announcement was sent), and a process
        # delivers in order, so once every client has change 0 the storm is over.
        _, _, storm_ms = await change(0, args.storm_timeout)
        if storm_ms is None:
            raise BenchError(f"the connect storm was not delivered within --storm-timeout {args.storm_timeout} s")
        report["storm_drain_seconds"] = round(storm_ms / 1000, 2)
        report["cpu_seconds_connect_phase"] = cpu_delta(connect_started, cpu_snapshot(groups))
        await asyncio.sleep(2)
        rss_after = rss_bytes(pids)
        report["daphne_rss_mb_before"] = round(rss_before / 2**20, 1)
        report["daphne_rss_mb_after"] = round(rss_after / 2**20, 1)
        report["memory_kb_per_connection"] = round((rss_after - rss_before) / 1024 / connected, 1)
        report["redis_used_memory_mb"] = redis_used_memory_mb(args.redis_url)

        log(f"sending {args.changes} presence changes")
        put_ms: list[float] = []
        complete_ms: list[float] = []
        timeouts = 0
        http_errors = 0
        changes_started = cpu_snapshot(groups)
        for k in range(1, args.changes + 1):
            status, put, complete = await change(k, args.change_timeout)
            put_ms.append(put)
            if status != 200:
                http_errors += 1
            elif complete is None:
                timeouts += 1
            else:
                complete_ms.append(complete)
            await asyncio.sleep(args.interval)
        report["cpu_seconds_change_phase"] = cpu_delta(changes_started, cpu_snapshot(groups))

        for worker in workers:
            assert worker.process.stdin is not None
            worker.process.stdin.write(b"stop\n")
            await worker.process.stdin.drain()
        results = [await asyncio.wait_for(worker.result, timeout=deadline.left(60)) for worker in workers]
    finally:
        for server in servers:  # before the clients close: no disconnect storm to wait for
            stop_process(server.process)
        for worker in workers:
            if worker.process.returncode is None and worker.process.stdin is not None:
                with contextlib.suppress(Exception):
                    worker.process.stdin.write(b"exit\n")
                    await worker.process.stdin.drain()
        for worker in workers:
            try:
                await asyncio.wait_for(worker.process.wait(), timeout=15)
            except TimeoutError:
                worker.process.kill()  # by PID
                await asyncio.wait_for(worker.process.wait(), timeout=15)
        for reader in readers:
            reader.cancel()

    latencies: list[float] = []
    received = 0
    for result in results:
        for k, row in enumerate(result["arrivals"]):
            start = sent_at[k] if k > 0 else None  # k = 0: the sentinel, not timed
            for arrival in row:
                if arrival is not None and start is not None:
                    latencies.append((arrival - start) * 1000)
                    received += 1
    report.update(
        {
            "changes": args.changes,
            "deliveries_expected": connected * args.changes,
            "deliveries_received": received,
            "latency_ms_p50": rounded(percentile(latencies, 0.50)),
            "latency_ms_p90": rounded(percentile(latencies, 0.90)),
            "latency_ms_p99": rounded(percentile(latencies, 0.99)),
            "latency_ms_max": rounded(max(latencies) if latencies else None),
            "fanout_complete_ms_p50": rounded(percentile(complete_ms, 0.50)),
            "fanout_complete_ms_p90": rounded(percentile(complete_ms, 0.90)),
            "fanout_complete_ms_max": rounded(max(complete_ms) if complete_ms else None),
            "fanout_complete_ms_each": [round(value) for value in complete_ms],
            "put_ms_p50": rounded(percentile(put_ms, 0.50)),
            "put_ms_p90": rounded(percentile(put_ms, 0.90)),
            "put_ms_max": rounded(max(put_ms) if put_ms else None),
            "change_timeouts": timeouts,
            "http_errors": http_errors,
            "clients_lost": sum(result["lost"] for result in results),
            "client_errors": sum(result["errors"] for result in results),
            "client_error_samples": list(dict.fromkeys(e for result in results for e in result["error_samples"]))[:5],
            "other_events_received": sum(result["other_messages"] for result in results),
            "other_event_types": merged_counts([result["other_types"] for result in results]),
        }
    )


def merged_counts(counts: list[dict[str, int]]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for count in counts:
        for key, value in count.items():
            merged[key] = merged.get(key, 0) + value
    return merged


def redis_used_memory_mb(redis_url: str) -> float | None:
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
    try:
        return round(int(client.info("memory")["used_memory"]) / 2**20, 1)
    except redis.RedisError:
        return None
    finally:
        client.close()


def on_sigterm(signum: int, frame: Any) -> None:
    raise Interrupted(signum)


async def guarded(work: Coroutine[Any, Any, None], timeout: float) -> None:
    """Run `work` with a timeout; SIGTERM cancels it, so its clean-up runs on a live loop."""
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    await asyncio.wait_for(work, timeout=timeout)


def server_errors(servers: list[Server]) -> dict[str, int]:
    """Count the errors the daphne processes logged, by message."""
    counts: dict[str, int] = {}
    for server in servers:
        try:
            lines = server.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            if " ERROR " in line or " CRITICAL " in line:
                message = line.split(" ", 3)[-1][:200]
                counts[message] = counts.get(message, 0) + 1
    return counts


def spawn(command: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start a server process in the repository root; its stdout and stderr go to `log_path`."""
    with open(log_path, "wb") as output:
        return subprocess.Popen(
            command, cwd=str(ROOT), env=env, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )


def start_servers(count: int, env: dict[str, str], log_dir: Path, deadline: Deadline) -> list[Server]:
    servers: list[Server] = []
    for number in range(count):
        port = free_port()
        log_path = log_dir / f"daphne-{number}.log"
        daphne = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "toc.asgi:application"]
        servers.append(Server(port=port, process=spawn(daphne, env, log_path), log_path=log_path))
    for server in servers:
        ready_by = time.monotonic() + deadline.left(60)
        while True:
            if server.process.poll() is not None:
                raise BenchError(f"daphne on port {server.port} exited:\n{tail(server.log_path)}")
            try:
                with socket.create_connection(("127.0.0.1", server.port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > ready_by:
                    raise BenchError(f"daphne on port {server.port} did not listen in time") from None
                time.sleep(0.2)
    return servers


def run(args: argparse.Namespace) -> dict[str, Any]:
    deadline = Deadline(args.timeout)
    open_files = raise_open_files_limit()  # inherited by daphne and the client processes
    if open_files < args.clients * 2 + 100:
        raise BenchError(f"open-files limit {open_files} is too low for {args.clients} clients")
    settings_module = "toc.settings" if args.layer == "redis" else "bench.layer_settings"
    log_dir = Path(tempfile.mkdtemp(prefix="toc-fanout-"))
    extra = {
        "TOC_CHANNEL_PREFIX": "tocbench",
        "DJANGO_SETTINGS_MODULE": settings_module,
        "BENCH_CHANNEL_LAYER": args.layer,
    }
    env = server_env(args.database_url, args.redis_url, log_dir / "var", extra)
    for item in args.env:
        key, _, value = item.partition("=")
        env[key] = value
    report: dict[str, Any] = {
        "clients": args.clients,
        "daphne_processes": args.servers,
        "client_processes": args.client_procs,
        "channel_layer": LAYERS[args.layer],
        "heartbeat": args.heartbeat,
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
        log(f"creating {args.clients} users")
        seeded = run_step("seeding", [sys.executable, str(THIS_FILE), "--seed", str(args.clients)], env, deadline)
        users = json.loads(seeded)["users"]
        log(f"starting {args.servers} daphne process(es)")
        servers = start_servers(args.servers, env, log_dir, deadline)
        try:
            asyncio.run(guarded(run_clients(args, servers, users, env, deadline, log_dir, report), deadline.left()))
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
    report["goal"] = {
        "clients": GOAL_CLIENTS,
        "latency_ms_p99": GOAL_P99_MS,
        "kb_per_connection": GOAL_KB_PER_CONNECTION,
    }
    p99 = report.get("latency_ms_p99")
    kb = report.get("memory_kb_per_connection")
    complete = report.get("deliveries_received") == report.get("deliveries_expected")
    report["goal_met"] = bool(
        "error" not in report
        and complete
        and p99 is not None
        and p99 <= GOAL_P99_MS
        and kb is not None
        and kb <= GOAL_KB_PER_CONNECTION
    )
    report["machine"] = machine_info()
    report["date"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    report["source"] = source_revision()
    report["command"] = " ".join([".venv/bin/python", "bench/presence_fanout.py", *sys.argv[1:]])
    return report


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clients", type=int, default=100, help="WebSocket clients, one user each (default 100)")
    parser.add_argument("--changes", type=int, default=60, help="presence changes to time (default 60)")
    parser.add_argument("--interval", type=float, default=0.3, help="pause after each change is everywhere (s)")
    parser.add_argument("--servers", type=int, default=1, help="daphne processes (default 1)")
    parser.add_argument("--client-procs", type=int, default=1, help="client processes (default 1)")
    parser.add_argument(
        "--layer", choices=list(LAYERS), default="redis", help="channel layer (bench/layer_settings.py)"
    )
    parser.add_argument("--heartbeat", type=float, default=-1, help="ping every S s; -1: as the server asks; 0: off")
    parser.add_argument("--connect-concurrency", type=int, default=50, help="handshakes in flight (default 50)")
    parser.add_argument("--connect-retries", type=int, default=5, help="retries of a failed handshake")
    parser.add_argument("--connect-timeout", type=float, default=30, help="per-socket open timeout (s)")
    parser.add_argument("--connect-phase-timeout", type=float, default=600, help="all sockets open within (s)")
    parser.add_argument("--storm-timeout", type=float, default=600, help="deliver the connect storm within (s)")
    parser.add_argument("--change-timeout", type=float, default=30, help="wait for one change at most (s)")
    parser.add_argument("--timeout", type=float, default=1800, help="the whole run at most (s)")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/toc_bench_fanout")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="extra server env")
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the database")
    parser.add_argument("--json", action="store_true", help="print only the JSON report")
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.clients < 1 or args.changes < 1 or args.servers < 1 or args.client_procs < 1:
        parser.error("--clients, --changes, --servers and --client-procs must be at least 1")
    args.client_procs = min(args.client_procs, args.clients)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.seed is not None:
        seed(args.seed)
        return 0
    if args.worker:
        raise_open_files_limit()
        asyncio.run(worker_entry())
        return 0

    signal.signal(signal.SIGTERM, on_sigterm)
    return print_report(run(args), as_json=args.json)


if __name__ == "__main__":
    sys.exit(main())
