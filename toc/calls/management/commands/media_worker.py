"""`manage.py media_worker`: run a media worker (Procfile `media`), optionally pinned to a core.

With `--per-core` it starts one worker process per CPU core, each pinned to its core (one
process per core beats one unpinned process, which fights over the GIL across cores), and
stops them all on SIGTERM/SIGINT.
"""

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from toc.calls import services
from toc.media.models import MediaWorker
from toc.media.worker import MediaWorkerProcess, WorkerHooks

STOP_GRACE_SECONDS = 10


def _leg_event(leg_id: str, kind: str, detail: str) -> None:
    if kind == "connected":
        services.leg_connected(leg_id=leg_id)
    elif kind == "failed":
        services.leg_failed(leg_id=leg_id, detail=detail or "The call's audio connection failed.")
    elif kind == "closed":
        services.leg_closed(leg_id=leg_id)


def _leg_answered(leg_id: str, sdp: str) -> None:
    services.leg_answered(leg_id=leg_id, sdp=sdp)


def _recording_finished(call_id: str, recording_id: str, recording: Path | None, reason: str) -> None:
    services.recording_finished(call_id=call_id, recording_id=recording_id, recording=recording, reason=reason)


def _worker_stopping(worker: MediaWorker) -> None:
    services.fail_calls_of_worker(worker=worker, detail="The media server restarted, so the call ended.")


HOOKS = WorkerHooks(
    leg_event=_leg_event,
    leg_answered=_leg_answered,
    worker_stopping=_worker_stopping,
    recording_finished=_recording_finished,
)


class Command(BaseCommand):
    help = "Run a media worker (aiortc) that hosts call legs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cpu", type=int, default=None, help="Pin this process to one CPU core.")
        parser.add_argument("--per-core", action="store_true", help="Start one pinned worker per CPU core.")
        parser.add_argument("--capacity", type=int, default=settings.MEDIA_WORKER_CAPACITY)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["per_core"]:
            self._supervise(options["capacity"])
            return
        if options["cpu"] is not None:
            os.sched_setaffinity(0, {options["cpu"]})
        asyncio.run(self._run(options["capacity"]))

    async def _run(self, capacity: int) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await MediaWorkerProcess(hooks=HOOKS, capacity=capacity).run(stop)

    def _supervise(self, capacity: int) -> None:
        cores = sorted(os.sched_getaffinity(0))
        manage = os.path.join(settings.BASE_DIR, "manage.py")
        children = [
            subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
                [sys.executable, manage, "media_worker", "--cpu", str(core), "--capacity", str(capacity)]
            )
            for core in cores
        ]
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(1.0)
        stop(signal.SIGTERM, None)
        for child in children:
            try:
                child.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                child.kill()
        if not stopping:
            sys.exit(1)
