"""SMS through the real stack: Twilio's webhooks (server time) and the paced hand-over to the carrier.

Usage (from the repository root; the default run takes about a minute):

    .venv/bin/python bench/sms.py --json      # 20 numbers x 10 messages; 400 inbound + 600 status webhooks

Method
------
1. Setup (helpers shared with ``bench/presence_fanout.py``). Creates a PostgreSQL database of
   its own (default ``toc_bench_sms`` on 127.0.0.1:5432, user postgres), migrates, and in a
   subprocess with Django loaded creates one organisation and ``--numbers`` N users through
   ``toc.accounts.services.create_user``, user i with the direct number +1416555(1000+i) and a
   DRF token. Flushes its own Redis database (default ``redis://127.0.0.1:6379/11``; only that
   database is ever flushed).
2. Processes, each started here on 127.0.0.1 and stopped by its PID in ``finally``:
   - the fake Twilio, ``python -m tests.sms.fake_twilio --port 0`` with a fresh auth token and
     no automatic status callbacks; its URL is read from its first line;
   - one daphne process, ``DEBUG=false`` and the production settings, ``PUBLIC_URL`` = its own
     URL (http://127.0.0.1:P), which is what webhooks are signed for;
   - one Celery worker, ``python -m celery -A toc worker --pool prefork --concurrency 2`` by
     default (the Procfile's ``worker``: one child per core; ``--pool solo`` runs one task at a
     time), ``--without-gossip --without-mingle --without-heartbeat`` (a single worker: nobody
     to talk to); no beat.
   All of them run with ``TWILIO_ACCOUNT_SID``/``TWILIO_AUTH_TOKEN`` set, ``TWILIO_API_BASE_URL``
   = the fake's URL and ``SMS_SWEEP_SECONDS=5`` (no beat runs the sweep: every hand-over here
   comes from the tasks the server plans itself).
3. Sending. Each user opens a thread with its own recipient (+1647555(1000+i)) through
   ``POST /api/sms/threads/``. Then all N x M (``--per-number``) messages are queued at once, as
   users send them: ``POST /api/sms/threads/<id>/messages/`` (multipart/form-data like the
   browser's FormData, ``Authorization: Token``, a fresh ``client_id``, the unique body
   ``bench <run> <n> <k>``) over ``--post-concurrency`` keep-alive connections, message k of
   every number before message k+1 of any (``queue_call_ms``: each POST's round trip;
   ``queue_seconds``: first POST written to last answered). ``--queue service`` queues them
   instead with ``toc.sms.services.send_message`` in one subprocess, faster than one daphne
   process takes POSTs, to see what the worker alone can do. The Celery worker hands them to
   the fake at the server's pace, 1 per second per number. The bench waits (at most
   ``--send-timeout``) until the fake has created every message and none is left in the
   outbox, then ``--settle`` seconds more, so that a late duplicate would be seen too. From
   the fake's recorded creates
   (``GET /_fake/created``: wall time, form ``From``, ``Body``, ``StatusCallback``):
   - ``sent_per_s`` = messages / (last create - first create); ``ideal_per_s`` = N. Exactly
     1 per second per number gives ``paced_per_s`` = N M / (M - 1), since each number's first
     message goes at once;
   - per number, the gaps between consecutive creates: ``min_gap_ms_per_number`` and
     ``pace_violations``, the gaps shorter than 1000 - 50 ms (the server counts the pace from
     its claim of a message, so the create that follows a claim may come a little earlier or
     later than the claim);
   - ``lateness_ms``: a create - the earliest moment the pace allowed it (the later of the
     moment its POST was written and the number's previous create + 1 s);
   - ``duplicates`` (a body created more than once) and ``all_sent``: every body created
     exactly once, and its row in the database past ``outbox`` with the fake's sid.
4. Webhooks, form-encoded with Twilio's fields and signed as Twilio signs them
   (``RequestValidator(token).compute_signature(PUBLIC_URL + path, params)``):
   - inbound, ``POST /webhooks/twilio/sms/inbound``: ``--inbound`` messages to the users'
     direct numbers in turn, from 10 outside numbers (+1905555...), each with a fresh
     MessageSid, so the first to each (user, sender) pair opens a thread;
   - status, ``POST /webhooks/twilio/sms/status/<message id>`` (the StatusCallback the server
     gave the fake): every message sent in step 3 walks queued -> sent -> delivered, every 4th
     out of order (queued -> delivered -> sent: the late "sent" must change nothing).
   A message's three callbacks are in three rounds (each round shuffled, the inbound ones
   spread over the rounds), and each is sent only once the previous one of its message was
   answered. Requests go open-loop at ``--webhook-rate`` per second (default 60: three
   callbacks for each of 20 numbers' one message a second) over ``--webhook-concurrency``
   (default 4) keep-alive connections; one that falls due while all of them are busy waits
   (``webhook_send_lag_ms``). **Server time = the client-observed round trip on loopback**:
   from writing the request to reading the whole answer, i.e. daphne, the signature check, the
   database work, the live event to the channel layer, and the loopback. 10 inbound and 5
   status warm-up calls are not counted. Checked after: every inbound stored once, on the
   right number; every sent message ``delivered``; a forged inbound (signed with another
   token) answered 403 and not stored.
5. The machine may be shared: each phase starts once the other processes used at most 0.15
   cores for 3 s (at most ``--quiet-timeout``; ``waited_for_quiet_s``), and reports
   ``cpu_seconds`` per process group with ``others_cores`` (the machine's other processes),
   and ``db_sessions_opened``: PostgreSQL connections the servers opened meanwhile (the bench
   reads the database on one connection of its own). ``<phase>_busy``: the other processes
   used more than 0.15 cores during it. Such a phase is not measured again (the callbacks
   cannot be replayed); run the bench again.
6. Teardown (always, in ``finally``): the Celery worker (and any child of it left), daphne and
   the fake are stopped by their PIDs, the database is dropped (unless ``--keep``) and the
   Redis database flushed. ``server_errors`` / ``server_warnings`` count what they logged.

All traffic goes to 127.0.0.1. Every wait is bounded and ``--timeout`` bounds the whole run.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime
import itertools
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import psycopg

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `bench`, `tests` and `toc` importable
    sys.path.insert(0, str(ROOT))

from bench.calls import cpu_by_process  # noqa: E402
from bench.chat_fanout import OTHERS_TOLERATED_CORES, KeepAlive, others_cores, wait_until_quiet  # noqa: E402
from bench.presence_fanout import (  # noqa: E402
    BenchError,
    Deadline,
    Interrupted,
    Server,
    clean_up_stores,
    cpu_delta,
    cpu_snapshot,
    create_database,
    flush_redis,
    free_port,
    guarded,
    log,
    machine_info,
    on_sigterm,
    percentile,
    print_report,
    rounded,
    run_step,
    server_env,
    source_revision,
    spawn,
    stop_process,
    tail,
)
from tests.sms.fake_twilio import (  # noqa: E402
    API_VERSION,
    DEFAULT_ACCOUNT_SID,
    FakeTwilioControl,
    RecordedRequest,
    count_segments,
)

THIS_FILE = Path(__file__).resolve()
ORG_SLUG = "bench-sms"
EMAIL_DOMAIN = "sms.example.com"
FIRST_LINE = 1000  # numbers +1416555(1000 + i) and so on
MAX_NUMBERS = 9000
INBOUND_SENDERS = 10
WARM_UP_SENDER = "+14375550100"
FORGED_SENDER = "+14375550199"
PACE_MS = 1000.0
PACE_TOLERANCE_MS = 50.0
GOAL_WEBHOOK_P99_MS = 50.0
IN_ORDER = ("queued", "sent", "delivered")
OUT_OF_ORDER = ("queued", "delivered", "sent")  # every OUT_OF_ORDER_EVERY-th message
OUT_OF_ORDER_EVERY = 4
LOG_LEVEL = re.compile(r"(?:^|[\s:\]])(CRITICAL|ERROR|WARNING)(?:[/\s\]:])")
FAKE_LISTENING = re.compile(r"fake twilio listening on (http://127\.0\.0\.1:\d+)")
T = TypeVar("T")


def direct_number(index: int) -> str:
    return f"+1416555{FIRST_LINE + index:04d}"


def recipient(index: int) -> str:
    return f"+1647555{FIRST_LINE + index:04d}"


def inbound_sender(index: int) -> str:
    return f"+1905555{FIRST_LINE + index:04d}"


def timing(prefix: str, values: list[float]) -> dict[str, Any]:
    """`<prefix>_ms_p50/p95/p99/max` and `<prefix>_count` of a list of milliseconds."""
    return {
        f"{prefix}_count": len(values),
        f"{prefix}_ms_p50": rounded(percentile(values, 0.50)),
        f"{prefix}_ms_p95": rounded(percentile(values, 0.95)),
        f"{prefix}_ms_p99": rounded(percentile(values, 0.99)),
        f"{prefix}_ms_max": rounded(max(values) if values else None),
    }


# --------------------------------------------------------------------------------------------
# Setup (subprocess with Django loaded): organisation, users with direct numbers, tokens
# --------------------------------------------------------------------------------------------


def seed(count: int) -> None:
    import django

    django.setup()
    from rest_framework.authtoken.models import Token

    from toc.accounts import services as account_services
    from toc.accounts.models import Organisation, User

    organisation = Organisation.objects.filter(slug=ORG_SLUG).first() or account_services.create_organisation(
        name="Bench SMS", slug=ORG_SLUG
    )
    by_number = {user.direct_number: user for user in User.objects.filter(organisation=organisation)}
    rows = []
    for index in range(count):
        number = direct_number(index)
        user = by_number.get(number) or account_services.create_user(
            organisation=organisation,
            email=f"sms{index:04d}@{EMAIL_DOMAIN}",
            password=None,
            first_name="Texter",
            last_name=f"{index:04d}",
            direct_number=number,
        )
        token, _ = Token.objects.get_or_create(user=user)
        rows.append([user.pk, token.key, number])
    print(json.dumps({"users": rows}))


# --------------------------------------------------------------------------------------------
# Processes: the fake Twilio, daphne, the Celery worker
# --------------------------------------------------------------------------------------------


def wait_for_log(server: Server, pattern: re.Pattern[str], what: str, seconds: float) -> re.Match[str]:
    """Wait (at most `seconds`) until the process's log has a line matching `pattern`."""
    ready_by = time.monotonic() + seconds
    while True:
        text = server.log_path.read_text(encoding="utf-8", errors="replace") if server.log_path.exists() else ""
        if match := pattern.search(text):
            return match
        if server.process.poll() is not None:
            raise BenchError(f"{what} exited:\n{tail(server.log_path)}")
        if time.monotonic() > ready_by:
            raise BenchError(f"{what} was not ready within {seconds:.0f} s:\n{tail(server.log_path)}")
        time.sleep(0.1)


def start_fake(env: dict[str, str], auth_token: str, log_dir: Path, deadline: Deadline) -> tuple[Server, str]:
    """The standalone fake Twilio on a free port; (its process, its URL)."""
    command = [sys.executable, "-m", "tests.sms.fake_twilio", "--port", "0"]
    command += ["--account-sid", DEFAULT_ACCOUNT_SID, "--auth-token", auth_token]
    log_path = log_dir / "fake-twilio.log"
    fake = Server(port=0, process=spawn(command, env, log_path), log_path=log_path)
    url = wait_for_log(fake, FAKE_LISTENING, "the fake Twilio", deadline.left(30)).group(1)
    fake.port = int(url.rsplit(":", 1)[1])
    return fake, url


def start_daphne(port: int, env: dict[str, str], log_dir: Path, deadline: Deadline) -> Server:
    """One daphne process on `port` (chosen before, as PUBLIC_URL names it); waits until it listens."""
    log_path = log_dir / "daphne.log"
    command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "toc.asgi:application"]
    daphne = Server(port=port, process=spawn(command, env, log_path), log_path=log_path)
    ready_by = time.monotonic() + deadline.left(60)
    while True:
        if daphne.process.poll() is not None:
            raise BenchError(f"daphne exited:\n{tail(log_path)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return daphne
        except OSError:
            if time.monotonic() > ready_by:
                raise BenchError("daphne did not listen in time") from None
            time.sleep(0.2)


def start_celery(args: argparse.Namespace, env: dict[str, str], log_dir: Path, deadline: Deadline) -> Server:
    """The Celery worker (no beat); waits until it says it is ready."""
    command = [sys.executable, "-m", "celery", "-A", "toc", "worker", "--loglevel", "INFO"]
    command += ["--pool", args.pool, "--concurrency", str(args.concurrency), "-n", "bench-sms@%h"]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    log_path = log_dir / "celery.log"
    worker = Server(port=0, process=spawn(command, env, log_path), log_path=log_path)
    wait_for_log(worker, re.compile(r"bench-sms@\S+ ready\."), "the Celery worker", deadline.left(90))
    return worker


def process_tree(pid: int) -> list[int]:
    import psutil

    try:
        return [pid, *(child.pid for child in psutil.Process(pid).children(recursive=True))]
    except psutil.Error:
        return [pid]


def stop_worker(worker: Server, children: list[int]) -> None:
    """Stop the Celery worker by its PID, then kill (by PID) any pool child of it still there."""
    import psutil

    stop_process(worker.process, grace=20)
    for pid in children:
        try:
            child = psutil.Process(pid)
            if "celery" in " ".join(child.cmdline()):  # still our pool child, not a reused PID
                child.kill()
        except psutil.Error:
            continue


def logged(servers: list[Server], levels: set[str]) -> dict[str, int]:
    """Count the log lines of these levels (daphne's "ERROR x", Celery's "ERROR/Worker"), by message."""
    counts: dict[str, int] = {}
    for server in servers:
        try:
            lines = server.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            match = LOG_LEVEL.search(line)
            if match and match.group(1) in levels:
                message = f"{server.log_path.stem}: {line[match.end() :].strip()[:150]}"
                counts[message] = counts.get(message, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: -item[1])[:20])


def db_rows(bench: Bench, query: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """Run a query on the bench's own connection (one for the whole run: it adds no sessions)."""
    if bench.db is None:
        bench.db = psycopg.connect(bench.args.database_url, connect_timeout=10, autocommit=True)
    return list(bench.db.execute(query, params).fetchall())


def db_sessions(bench: Bench) -> int:
    """Connections opened to the bench database so far (pg_stat_database.sessions)."""
    query = "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
    return int(db_rows(bench, query, [])[0][0])


# --------------------------------------------------------------------------------------------
# HTTP: keep-alive connections posting forms (the API's multipart, Twilio's signed webhooks)
# --------------------------------------------------------------------------------------------


def multipart(fields: dict[str, str], boundary: str) -> bytes:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    return ("".join(parts) + f"--{boundary}--\r\n").encode()


class FormClient(KeepAlive):
    """A keep-alive connection posting form fields: to the API as multipart/form-data with
    ``Authorization: Token <self.token>`` (set it before each request), or, with a `signer`,
    urlencoded and signed for ``public_url + path`` as Twilio sends webhooks."""

    def __init__(self, port: int, timeout: float, *, signer: Any = None, public_url: str = "") -> None:
        super().__init__(port, "", timeout)
        self.signer = signer
        self.public_url = public_url

    def _encode(self, path: str, fields: dict[str, str]) -> tuple[str, bytes]:
        if self.signer is None:
            boundary = uuid.uuid4().hex
            headers = f"Authorization: Token {self.token}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
            return headers, multipart(fields, boundary)
        signature = self.signer.compute_signature(self.public_url + path, fields)
        headers = (
            f"X-Twilio-Signature: {signature}\r\nUser-Agent: TwilioProxy/1.1\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
        )
        return headers, urlencode(fields).encode()

    async def _request(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, float, bytes]:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", self.port), timeout=self.timeout
            )
        reader, writer = self.reader, self.writer
        assert reader is not None and writer is not None
        headers, payload = self._encode(path, body)
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n{headers}"
        head += f"Content-Length: {len(payload)}\r\n\r\n"
        sent_at = time.monotonic()
        try:
            writer.write(head.encode() + payload)
            status, answer_headers, content = await asyncio.wait_for(self._response(reader), timeout=self.timeout)
        except BaseException:
            self.close()
            raise
        if answer_headers.get("connection", "").lower() == "close":
            self.close()
        return status, sent_at, content


# --------------------------------------------------------------------------------------------
# The run's state, and a phase measured on a quiet machine
# --------------------------------------------------------------------------------------------


@dataclass
class Bench:
    args: argparse.Namespace
    deadline: Deadline
    report: dict[str, Any]
    run_id: str
    auth_token: str
    public_url: str
    daphne: Server
    fake: FakeTwilioControl
    users: list[list[Any]]  # [user id, token, direct number]
    groups: dict[str, list[int]]  # process groups, for cpu_seconds
    env: dict[str, str]
    log_dir: Path
    db: Any = None  # the bench's own psycopg connection, opened on first use

    @property
    def ours(self) -> set[int]:
        return {pid for pids in self.groups.values() for pid in pids}


async def measured(bench: Bench, name: str, work: Coroutine[Any, Any, T]) -> T:
    """Wait for a quiet machine, then run `work`; the CPU used meanwhile goes to the report."""
    waited = await wait_until_quiet(bench.ours, bench.deadline.left(bench.args.quiet_timeout))
    bench.report[f"{name}_waited_for_quiet_s"] = waited
    sessions = db_sessions(bench)
    groups_before, everyone_before, start = cpu_snapshot(bench.groups), cpu_by_process(), time.monotonic()
    result = await work
    cpu = cpu_delta(groups_before, cpu_snapshot(bench.groups))
    bench.report[f"{name}_db_sessions_opened"] = db_sessions(bench) - sessions
    cpu["others_cores"] = others_cores(everyone_before, cpu_by_process(), bench.ours, time.monotonic() - start)
    bench.report[f"{name}_cpu_seconds"] = cpu
    bench.report[f"{name}_busy"] = cpu["others_cores"] > OTHERS_TOLERATED_CORES  # measured on a busy machine
    return result


# --------------------------------------------------------------------------------------------
# Sending: queue N x M messages through the API, the worker hands them to the fake
# --------------------------------------------------------------------------------------------


@dataclass
class Post:
    number: int
    k: int
    body: str
    path: str
    token: str
    written_wall: float | None = None
    status: int | None = None
    ms: float | None = None
    error: str | None = None


async def open_threads(bench: Bench) -> list[str]:
    """Each user opens its thread with its recipient (POST /api/sms/threads/); the thread ids."""
    connection = KeepAlive(bench.daphne.port, "", bench.args.http_timeout)
    threads = []
    try:
        for index, (_, token, _) in enumerate(bench.users):
            connection.token = token
            status, _, content = await connection.request("POST", "/api/sms/threads/", {"to": recipient(index)})
            if status not in (200, 201):
                raise BenchError(f"opening a thread answered {status}: {content[:300]!r}")
            threads.append(str(json.loads(content)["id"]))
    finally:
        connection.close()
    return threads


def plan_posts(bench: Bench, threads: list[str]) -> list[Post]:
    """Every message, message k of every number before message k+1 of any; each body unique."""
    return [
        Post(n, k, f"bench {bench.run_id} {n} {k}", f"/api/sms/threads/{threads[n]}/messages/", bench.users[n][1])
        for k in range(bench.args.per_number)
        for n in range(len(threads))
    ]


async def post_messages(bench: Bench, posts: list[Post]) -> None:
    """Queue the messages through the API, each by the first free keep-alive connection."""
    pending = iter(posts)

    async def poster(connection: FormClient) -> None:
        for post in pending:
            connection.token = post.token
            before, post.written_wall = time.monotonic(), time.time()
            try:
                fields = {"body": post.body, "client_id": str(uuid.uuid4())}
                post.status, _, _ = await connection.request("POST", post.path, fields)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, BenchError) as error:
                post.error = f"{type(error).__name__}: {error}"[:200]
            post.ms = (time.monotonic() - before) * 1000

    connections = [FormClient(bench.daphne.port, bench.args.http_timeout) for _ in range(bench.args.post_concurrency)]
    try:
        await asyncio.gather(*(poster(connection) for connection in connections))
    finally:
        for connection in connections:
            connection.close()


async def queue_via_service(bench: Bench, posts: list[Post], threads: list[str]) -> None:
    """Queue the messages with toc.sms.services.send_message in one subprocess (--queue service)."""
    spec = bench.log_dir / "queue.json"
    items = [[bench.users[post.number][0], threads[post.number], post.body] for post in posts]
    spec.write_text(json.dumps({"items": items}), encoding="utf-8")
    command = [sys.executable, str(THIS_FILE), "--queue-worker", str(spec)]
    output = await asyncio.to_thread(run_step, "queueing", command, bench.env, bench.deadline)
    written = {body: (wall, ms) for body, wall, ms in json.loads(output)["written"]}
    for post in posts:
        if post.body in written:
            post.status, (post.written_wall, post.ms) = 201, written[post.body]


def queue_worker(spec_path: str) -> None:
    """(Subprocess, Django loaded.) send_message for each [user id, thread id, body], in order."""
    import django

    django.setup()
    from toc.accounts.models import User
    from toc.sms import services
    from toc.sms.models import Thread

    items = json.loads(Path(spec_path).read_text(encoding="utf-8"))["items"]
    users = User.objects.in_bulk({user_id for user_id, _, _ in items})
    threads = Thread.objects.in_bulk({uuid.UUID(thread_id) for _, thread_id, _ in items})
    written = []
    for user_id, thread_id, body in items:
        wall, before = time.time(), time.monotonic()
        services.send_message(
            user=users[user_id], thread=threads[uuid.UUID(thread_id)], body=body, pictures=[], client_id=uuid.uuid4()
        )
        written.append([body, wall, (time.monotonic() - before) * 1000])
    print(json.dumps({"written": written}))


def outbox_count(bench: Bench) -> int:
    query = "SELECT count(*) FROM sms_message WHERE direction = 'outbound' AND status = 'outbox' AND body LIKE %s"
    return int(db_rows(bench, query, [f"bench {bench.run_id} %"])[0][0])


async def wait_handed_over(bench: Bench, bodies: set[str]) -> list[RecordedRequest]:
    """Wait until the fake has every body and the outbox is empty (at most --send-timeout), then
    --settle seconds more; the creates of this run's messages."""
    give_up = time.monotonic() + bench.deadline.left(bench.args.send_timeout)
    while True:
        created = {record.value("Body") for record in bench.fake.created()}
        if bodies <= created and outbox_count(bench) == 0:
            break
        if time.monotonic() > give_up:
            log(f"--send-timeout: {len(bodies & created)} of {len(bodies)} messages at the fake")
            bench.report["send_timed_out"] = True
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(min(bench.args.settle, bench.deadline.left()))
    prefix = f"bench {bench.run_id} "
    return [record for record in bench.fake.created() if (record.value("Body") or "").startswith(prefix)]


def pace_figures(creates: list[RecordedRequest], written: dict[str, float]) -> dict[str, Any]:
    """Per number: the gaps between creates, the pace violations, the lateness behind the pace."""
    by_number: dict[str, list[RecordedRequest]] = {}
    for record in sorted(creates, key=lambda record: record.wall_time):
        by_number.setdefault(record.value("From") or "", []).append(record)
    min_gaps: dict[str, float] = {}
    gaps: list[float] = []
    lateness: list[float] = []
    rates: list[float] = []
    violations: list[dict[str, Any]] = []
    first = min((record.wall_time for record in creates), default=0.0)
    for number, records in sorted(by_number.items()):
        moments = [record.wall_time for record in records]
        steps = [(later - earlier) * 1000 for earlier, later in itertools.pairwise(moments)]
        violations += [
            {
                "from": number,
                "gap": position + 1,
                "gap_ms": round(step, 1),
                "at_s": round(moments[position + 1] - first, 3),
            }
            for position, step in enumerate(steps)
            if step < PACE_MS - PACE_TOLERANCE_MS
        ]
        for index, record in enumerate(records):
            allowed = written.get(record.value("Body") or "", record.wall_time)
            if index:
                allowed = max(allowed, moments[index - 1] + PACE_MS / 1000)
            lateness.append((record.wall_time - allowed) * 1000)
        if steps:
            gaps.extend(steps)
            min_gaps[number] = round(min(steps), 1)
            rates.append(len(steps) / (moments[-1] - moments[0]))
    return {
        "min_gap_ms": rounded(min(gaps) if gaps else None),
        "pace_violations": len(violations),
        "pace_violation_samples": violations[:20],  # gap n: between a number's creates n-1 and n
        "gap_ms_p50": rounded(percentile(gaps, 0.5)),
        "gap_ms_max": rounded(max(gaps) if gaps else None),
        "per_number_per_s_mean": round(sum(rates) / len(rates), 3) if rates else None,
        "per_number_per_s_min": round(min(rates), 3) if rates else None,
        **timing("lateness", lateness),
        "min_gap_ms_per_number": min_gaps,
    }


def delivery_figures(bench: Bench, creates: list[RecordedRequest], bodies: set[str]) -> dict[str, Any]:
    """Every body at the fake exactly once, and in the database past the outbox with the fake's sid."""
    counts = collections.Counter(record.value("Body") or "" for record in creates)
    sids = {record.value("Body"): record.sid for record in creates}
    query = "SELECT body, status, provider_sid, attempts FROM sms_message WHERE direction = 'outbound' AND body LIKE %s"
    rows = db_rows(bench, query, [f"bench {bench.run_id} %"])
    statuses = collections.Counter(status for _, status, _, _ in rows)
    duplicates = sum(count - 1 for count in counts.values() if count > 1)
    mismatched = sum(1 for body, _, sid, _ in rows if sids.get(body) != sid)
    missing, unknown = len(bodies - set(counts)), len(set(counts) - bodies)
    return {
        "created_at_fake": len(creates),
        "duplicates": duplicates,
        "duplicate_bodies": sorted(body for body, count in counts.items() if count > 1)[:10],
        "missing_at_fake": missing,
        "unknown_at_fake": unknown,
        "db_statuses_after_send": dict(statuses),
        "db_sid_mismatches": mismatched,
        "attempts_max": max((attempts for *_, attempts in rows), default=None),
        "all_sent": bool(
            bodies
            and not missing
            and not unknown
            and duplicates == 0
            and len(rows) == len(bodies)
            and statuses.get("outbox", 0) == 0
            and mismatched == 0
        ),
    }


async def sending_phase(bench: Bench, threads: list[str]) -> list[RecordedRequest]:
    args, report = bench.args, bench.report
    log(f"queueing {len(threads)} x {args.per_number} messages ({args.queue})")
    posts = plan_posts(bench, threads)
    await (post_messages(bench, posts) if args.queue == "api" else queue_via_service(bench, posts, threads))
    accepted = [post for post in posts if post.status == 201]
    report["queue_statuses"] = dict(collections.Counter(str(post.status or post.error) for post in posts))
    report.update(timing("queue_call", [post.ms for post in posts if post.ms is not None]))
    written = {post.body: post.written_wall for post in accepted if post.written_wall is not None}
    if written:
        ends = [(post.written_wall or 0) + (post.ms or 0) / 1000 for post in posts]
        report["queue_seconds"] = round(max(ends) - min(written.values()), 2)
    log(f"{len(accepted)} messages queued; waiting for the hand-overs")
    creates = await wait_handed_over(bench, set(written))
    if creates and written:
        moments = sorted(record.wall_time for record in creates)
        span = moments[-1] - moments[0]
        report["first_post_to_first_create_ms"] = round((moments[0] - min(written.values())) * 1000, 1)
        report["first_to_last_create_s"] = round(span, 2)
        report["sent_per_s"] = round(len(creates) / span, 2) if span > 0 else None
    report["ideal_per_s"] = len(threads)
    if args.per_number > 1:
        report["paced_per_s"] = round(len(threads) * args.per_number / (args.per_number - 1), 2)
    report.update(pace_figures(creates, written))
    report.update(delivery_figures(bench, creates, set(written)))
    return creates


# --------------------------------------------------------------------------------------------
# Webhooks: inbound messages and status callbacks, open-loop at a fixed rate
# --------------------------------------------------------------------------------------------


@dataclass
class Hook:
    kind: str  # "inbound" or "status"
    path: str
    params: dict[str, str]
    after: Hook | None = None  # the previous callback of the same message
    done: asyncio.Event = field(default_factory=asyncio.Event)
    planned: float = 0.0
    lag_ms: float | None = None
    ms: float | None = None
    status: int | None = None
    error: str | None = None


def status_params(sid: str, from_: str, to: str, status: str) -> dict[str, str]:
    """A status callback as the fake (and Twilio) sends it."""
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": DEFAULT_ACCOUNT_SID,
        "From": from_,
        "To": to,
        "MessageStatus": status,
        "SmsStatus": status,
        "ApiVersion": API_VERSION,
    }


def inbound_params(to: str, sender: str, body: str) -> dict[str, str]:
    """An incoming-message webhook as the fake (and Twilio) sends it, with a fresh MessageSid."""
    sid = "SM" + uuid.uuid4().hex
    return {
        "ToCountry": "CA",
        "ToState": "ON",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": body,
        "FromCountry": "CA",
        "To": to,
        "NumSegments": str(max(1, count_segments(body))),
        "MessageSid": sid,
        "AccountSid": DEFAULT_ACCOUNT_SID,
        "From": sender,
        "ApiVersion": API_VERSION,
    }


def status_rounds(bench: Bench, creates: list[RecordedRequest]) -> list[list[Hook]]:
    """Round r holds the r-th callback of every sent message; every 4th message goes out of order."""
    rounds: list[list[Hook]] = [[], [], []]
    for index, record in enumerate(sorted(creates, key=lambda record: record.wall_time)):
        callback = record.value("StatusCallback") or ""
        if not callback.startswith(bench.public_url + "/"):
            raise BenchError(f"the StatusCallback {callback!r} is not on PUBLIC_URL {bench.public_url}")
        walk = OUT_OF_ORDER if index % OUT_OF_ORDER_EVERY == OUT_OF_ORDER_EVERY - 1 else IN_ORDER
        previous = None
        for position, status in enumerate(walk):
            params = status_params(record.sid or "", record.value("From") or "", record.value("To") or "", status)
            hook = Hook("status", callback.removeprefix(bench.public_url), params, previous)
            rounds[position].append(hook)
            previous = hook
    return rounds


def plan_webhooks(bench: Bench, creates: list[RecordedRequest]) -> list[Hook]:
    """The status rounds one after the other, the inbound webhooks spread over them, each round shuffled."""
    users = bench.users
    inbound = [
        Hook(
            "inbound",
            "/webhooks/twilio/sms/inbound",
            inbound_params(
                users[i % len(users)][2],
                inbound_sender(i // len(users) % INBOUND_SENDERS),
                f"bench {bench.run_id} in {i}",
            ),
        )
        for i in range(bench.args.inbound)
    ]
    rng = random.Random(bench.run_id)
    order: list[Hook] = []
    for position, hooks in enumerate(status_rounds(bench, creates)):
        mixed = hooks + inbound[position::3]
        rng.shuffle(mixed)
        order.extend(mixed)
    return order


async def send_webhooks(bench: Bench, hooks: list[Hook], connections: list[FormClient]) -> float:
    """Send hook j at t0 + j / rate on the first free connection (a status callback only once the
    previous one of its message was answered); the seconds from the first send to the last answer."""
    timeout = bench.args.http_timeout
    t0 = time.monotonic() + 0.05
    for j, hook in enumerate(hooks):
        hook.planned = t0 + j / bench.args.webhook_rate
    pending = iter(hooks)

    async def sender(connection: FormClient) -> None:
        for hook in pending:
            await asyncio.sleep(max(0.0, hook.planned - time.monotonic()))
            if hook.after is not None:
                await asyncio.wait_for(hook.after.done.wait(), timeout=timeout)
            hook.lag_ms = (time.monotonic() - hook.planned) * 1000
            try:
                hook.status, sent_at, _ = await connection.request("POST", hook.path, hook.params)
                hook.ms = (time.monotonic() - sent_at) * 1000
            except (OSError, TimeoutError, asyncio.IncompleteReadError, BenchError) as error:
                hook.error = f"{type(error).__name__}: {error}"[:200]
            finally:
                hook.done.set()

    await asyncio.gather(*(sender(connection) for connection in connections))
    return time.monotonic() - t0


async def warm_up_webhooks(bench: Bench, connection: FormClient) -> None:
    """10 inbound (from a sender of its own) and 5 status callbacks for no message; not counted."""
    user_number = bench.users[0][2]
    calls = [
        ("/webhooks/twilio/sms/inbound", inbound_params(user_number, WARM_UP_SENDER, f"warm-up {i}")) for i in range(10)
    ]
    for _ in range(5):
        params = status_params("SM" + uuid.uuid4().hex, user_number, WARM_UP_SENDER, "sent")
        calls.append((f"/webhooks/twilio/sms/status/{uuid.uuid4()}", params))
    for path, params in calls:
        status, _, content = await connection.request("POST", path, params)
        if status != 200:
            raise BenchError(f"warm-up webhook {path} answered {status}: {content[:300]!r}")


async def forged_inbound(bench: Bench) -> dict[str, Any]:
    """One inbound signed with another token: it must be refused (403) and not stored."""
    from twilio.request_validator import RequestValidator

    forger = FormClient(
        bench.daphne.port,
        bench.args.http_timeout,
        signer=RequestValidator("not-" + bench.auth_token),
        public_url=bench.public_url,
    )
    params = inbound_params(bench.users[0][2], FORGED_SENDER, "forged")
    try:
        status, _, _ = await forger.request("POST", "/webhooks/twilio/sms/inbound", params)
    finally:
        forger.close()
    stored = db_rows(bench, "SELECT count(*) FROM sms_message WHERE provider_sid = %s", [params["MessageSid"]])
    return {"forged_webhook_status": status, "forged_webhook_stored": int(stored[0][0])}


def webhook_figures(hooks: list[Hook], seconds: float, args: argparse.Namespace) -> dict[str, Any]:
    def ms(kind: str | None) -> list[float]:
        return [hook.ms for hook in hooks if hook.ms is not None and kind in (None, hook.kind)]

    return {
        "webhook_rate_offered": args.webhook_rate,
        "webhook_rate_achieved": round(len(ms(None)) / seconds, 1) if seconds > 0 else None,
        "webhook_concurrency": args.webhook_concurrency,
        "webhook_http_statuses": dict(collections.Counter(str(hook.status or hook.error) for hook in hooks)),
        **timing("webhook", ms(None)),
        **timing("inbound_webhook", ms("inbound")),
        **timing("status_webhook", ms("status")),
        **timing("webhook_send_lag", [hook.lag_ms for hook in hooks if hook.lag_ms is not None]),
    }


def webhook_checks(bench: Bench, hooks: list[Hook], messages: int) -> dict[str, Any]:
    """Every inbound stored once on the number it was sent to; every sent message delivered."""
    expected = {hook.params["MessageSid"]: hook.params["To"] for hook in hooks if hook.kind == "inbound"}
    query = "SELECT provider_sid, local_number FROM sms_message WHERE direction = 'inbound' AND provider_sid = ANY(%s)"
    stored = db_rows(bench, query, [list(expected)])
    misrouted = sum(1 for sid, number in stored if expected.get(sid) != number)
    query = "SELECT status, count(*) FROM sms_message WHERE direction = 'outbound' AND body LIKE %s GROUP BY status"
    statuses = {status: int(count) for status, count in db_rows(bench, query, [f"bench {bench.run_id} %"])}
    return {
        "inbound_stored": len(stored),
        "inbound_misrouted": misrouted,
        "status_walks": messages,
        "status_walks_out_of_order": messages // OUT_OF_ORDER_EVERY,
        "db_statuses_after_webhooks": statuses,
        "webhooks_applied": len(stored) == len(expected) and misrouted == 0 and statuses == {"delivered": messages},
    }


async def webhook_phase(bench: Bench, creates: list[RecordedRequest]) -> None:
    from twilio.request_validator import RequestValidator

    args, report = bench.args, bench.report
    signer = RequestValidator(bench.auth_token)
    connections = [
        FormClient(bench.daphne.port, args.http_timeout, signer=signer, public_url=bench.public_url)
        for _ in range(args.webhook_concurrency)
    ]
    hooks = plan_webhooks(bench, creates)
    try:
        await warm_up_webhooks(bench, connections[0])
        log(f"sending {len(hooks)} webhooks at {args.webhook_rate}/s")
        seconds = await measured(bench, "webhook_phase", send_webhooks(bench, hooks, connections))
    finally:
        for connection in connections:
            connection.close()
    report.update(webhook_figures(hooks, seconds, args))
    report.update(webhook_checks(bench, hooks, len({record.sid for record in creates})))
    report.update(await forged_inbound(bench))


async def run_phases(bench: Bench) -> None:
    threads = await open_threads(bench)
    creates = await measured(bench, "send_phase", sending_phase(bench, threads))
    if not creates:
        raise BenchError("no message reached the fake Twilio")
    await webhook_phase(bench, creates)


# --------------------------------------------------------------------------------------------
# Coordinator
# --------------------------------------------------------------------------------------------


def parameters(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {
        "numbers": args.numbers,
        "per_number": args.per_number,
        "messages": args.numbers * args.per_number,
        "celery": f"--pool {args.pool} --concurrency {args.concurrency}",
        "queue": args.queue,
        "post_concurrency": args.post_concurrency,
        "inbound": args.inbound,
        "settle_seconds": args.settle,
        "load_average_before": [round(value, 2) for value in os.getloadavg()],
    }
    if args.note:
        report["note"] = args.note
    return report


def start_everything(
    args: argparse.Namespace, report: dict[str, Any], log_dir: Path, deadline: Deadline, servers: list[Server]
) -> Bench:
    """The database, the fake Twilio, the users, daphne and the Celery worker (each appended to
    `servers` as soon as it runs, to be stopped in the caller's `finally`)."""
    auth_token = "bench-" + secrets.token_hex(16)
    extra = {
        "DJANGO_SETTINGS_MODULE": "toc.settings",
        "TOC_CHANNEL_PREFIX": "tocbenchsms",
        "TWILIO_ACCOUNT_SID": DEFAULT_ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": auth_token,
        "SMS_SWEEP_SECONDS": "5",
    }
    env = server_env(args.database_url, args.redis_url, log_dir / "var", extra)
    fake, fake_url = start_fake(env, auth_token, log_dir, deadline)
    servers.append(fake)
    port = free_port()
    env.update({"TWILIO_API_BASE_URL": fake_url, "PUBLIC_URL": f"http://127.0.0.1:{port}"})
    log("migrating")
    run_step("migrate", [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], env, deadline)
    log(f"creating {args.numbers} users with direct numbers")
    users = json.loads(
        run_step("seeding", [sys.executable, str(THIS_FILE), "--seed", str(args.numbers)], env, deadline)
    )
    servers.append(start_daphne(port, env, log_dir, deadline))
    log("starting the Celery worker")
    servers.append(start_celery(args, env, log_dir, deadline))
    return Bench(
        args=args,
        deadline=deadline,
        report=report,
        run_id=secrets.token_hex(3),
        auth_token=auth_token,
        public_url=env["PUBLIC_URL"],
        daphne=servers[1],
        fake=FakeTwilioControl(fake_url, timeout=30),
        users=users["users"],
        groups={
            "daphne": [servers[1].process.pid],
            "celery": process_tree(servers[2].process.pid),
            "fake_twilio": [fake.process.pid],
            "bench": [os.getpid()],
        },
        env=env,
        log_dir=log_dir,
    )


def goals_met(report: dict[str, Any]) -> dict[str, bool]:
    p99 = report.get("webhook_ms_p99")
    return {
        "webhook_ms_p99": p99 is not None and p99 <= GOAL_WEBHOOK_P99_MS,
        "pace": report.get("pace_violations") == 0 and report.get("min_gap_ms") is not None,
        "no_duplicates": report.get("duplicates") == 0,
        "all_sent": report.get("all_sent") is True,
        "webhooks_applied": report.get("webhooks_applied") is True and report.get("forged_webhook_status") == 403,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    began = time.monotonic()
    deadline = Deadline(args.timeout)
    log_dir = Path(tempfile.mkdtemp(prefix="toc-sms-"))
    report = parameters(args)
    servers: list[Server] = []
    bench: Bench | None = None
    created = False
    try:
        log("creating the database")
        create_database(args.database_url, keep=args.keep)
        created = True
        flush_redis(args.redis_url)
        bench = start_everything(args, report, log_dir, deadline, servers)
        try:
            asyncio.run(guarded(run_phases(bench), deadline.left()))
        finally:
            signal.signal(signal.SIGTERM, on_sigterm)  # closing the loop reset it to the default
    except (BenchError, TimeoutError, OSError, subprocess.SubprocessError, ValueError, psycopg.Error) as error:
        report["error"] = f"{type(error).__name__}: {error}"
        for server in servers:
            report.setdefault("log_tails", []).append(tail(server.log_path, 10))
    except (KeyboardInterrupt, Interrupted, asyncio.CancelledError):
        report["error"] = "interrupted"
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the teardown short
        teardown(servers, bench)
        report["server_errors"] = logged(servers, {"ERROR", "CRITICAL"})
        report["server_warnings"] = logged(servers, {"WARNING"})
        clean_up_stores(args.database_url, args.redis_url, drop=created and not args.keep)
        keep_logs(servers, args.keep_logs)
        shutil.rmtree(log_dir, ignore_errors=True)
    report["goal"] = {"webhook_ms_p99": GOAL_WEBHOOK_P99_MS, "pace_ms": PACE_MS, "pace_tolerance_ms": PACE_TOLERANCE_MS}
    report["goals_met"] = goals_met(report)
    report["goal_met"] = "error" not in report and all(report["goals_met"].values())
    report["machine"] = machine_info()
    report["date"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    report["source"] = source_revision()
    report["duration_seconds"] = round(time.monotonic() - began, 1)
    report["command"] = " ".join([".venv/bin/python", "bench/sms.py", *sys.argv[1:]])
    return report


def teardown(servers: list[Server], bench: Bench | None) -> None:
    """Stop, by their PIDs, the Celery worker (and its pool children), daphne, then the fake."""
    children = bench.groups["celery"][1:] if bench is not None else []
    for server in reversed(servers):
        if "celery" in server.log_path.name:
            stop_worker(server, children)
        else:
            stop_process(server.process)
    if bench is not None:
        bench.fake.close()
        if bench.db is not None:
            bench.db.close()


def keep_logs(servers: list[Server], directory: str) -> None:
    if not directory:
        return
    keep = Path(directory)
    keep.mkdir(parents=True, exist_ok=True)
    for server in servers:
        if server.log_path.exists():
            shutil.copy(server.log_path, keep / server.log_path.name)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--numbers", type=int, default=20, help="sending numbers, one user each (default 20)")
    parser.add_argument("--per-number", type=int, default=10, help="messages queued per number (default 10)")
    parser.add_argument("--pool", choices=["prefork", "solo"], default="prefork", help="Celery pool (default prefork)")
    parser.add_argument("--concurrency", type=int, default=os.cpu_count() or 2, help="Celery children (default: cores)")
    parser.add_argument(
        "--queue", choices=["api", "service"], default="api", help="queue through the API (default) or send_message"
    )
    parser.add_argument("--post-concurrency", type=int, default=8, help="keep-alive connections queueing (default 8)")
    parser.add_argument("--inbound", type=int, default=400, help="inbound webhooks (default 400)")
    parser.add_argument("--webhook-rate", type=float, default=60, help="webhooks per second, open loop (default 60)")
    parser.add_argument("--webhook-concurrency", type=int, default=4, help="keep-alive webhook connections (default 4)")
    parser.add_argument("--settle", type=float, default=3, help="watch for late duplicates this long (s, default 3)")
    parser.add_argument("--send-timeout", type=float, help="wait for the hand-overs at most (s; default 3 M + 60)")
    parser.add_argument("--http-timeout", type=float, default=30, help="one HTTP request at most (s)")
    parser.add_argument("--quiet-timeout", type=float, default=120, help="wait for a quiet machine at most (s)")
    parser.add_argument("--timeout", type=float, default=900, help="the whole run at most (s)")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/toc_bench_sms")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the database")
    parser.add_argument("--keep-logs", default="", metavar="DIR", help="copy the server logs here")
    parser.add_argument("--note", default="", help="a remark stored in the report")
    parser.add_argument("--json", action="store_true", help="print only the JSON report")
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--queue-worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 1 <= args.numbers <= MAX_NUMBERS or args.per_number < 1 or args.inbound < 0:
        parser.error(f"--numbers is 1 to {MAX_NUMBERS}, --per-number at least 1, --inbound at least 0")
    if min(args.concurrency, args.post_concurrency, args.webhook_concurrency) < 1 or args.webhook_rate <= 0:
        parser.error(
            "--concurrency, --post-concurrency and --webhook-concurrency are at least 1, --webhook-rate above 0"
        )
    if args.pool == "solo":
        args.concurrency = 1
    if args.send_timeout is None:
        args.send_timeout = 3 * args.per_number * PACE_MS / 1000 + 60
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.seed is not None:
        seed(args.seed)
        return 0
    if args.queue_worker:
        queue_worker(args.queue_worker)
        return 0
    signal.signal(signal.SIGTERM, on_sigterm)
    return print_report(run(args), as_json=args.json)


if __name__ == "__main__":
    sys.exit(main())
