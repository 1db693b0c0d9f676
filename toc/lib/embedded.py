"""The embedded default as one command (`make run`): private Redis, migrations, the demo
organisation, then the same processes as the Procfile (web, worker, beat, media) supervised together.

Stopping it (Ctrl+C) stops every process it started; if one of them dies, the rest are
stopped too, so it never runs half an application.
"""

import io
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import FrameType
from typing import Protocol

from django.conf import settings
from django.core.management import call_command

from toc.lib import embedded_redis, env

STOP_GRACE_SECONDS = 10
START_TIMEOUT_SECONDS = 60


class Writer(Protocol):
    def write(self, msg: str, /) -> object: ...


def _processes(host: str, port: int, var_dir: Path) -> dict[str, list[str]]:
    python = sys.executable
    # Quiet by default: requests go to var/access.log, Celery reports only problems.
    return {
        "web": [
            python,
            "-m",
            "daphne",
            "-b",
            host,
            "-p",
            str(port),
            "--proxy-headers",
            "--access-log",
            str(var_dir / "access.log"),
            "toc.asgi:application",
        ],
        "worker": [python, "-m", "celery", "-A", "toc", "worker", "--loglevel", "WARNING", "--concurrency", "2"],
        "beat": [python, "-m", "celery", "-A", "toc", "beat", "--loglevel", "WARNING"],
        "media": [python, str(settings.BASE_DIR / "manage.py"), "media_worker"],
    }


def _wait_until_serving(url: str, children: dict[str, subprocess.Popen[bytes]]) -> bool:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if any(process.poll() is not None for process in children.values()):
            return False
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:  # noqa: S310 - our own URL
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


def _stop(children: dict[str, subprocess.Popen[bytes]]) -> None:
    for process in children.values():
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for process in children.values():
        remaining = max(0.1, deadline - time.monotonic())
        try:
            process.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def run(*, host: str, port: int, stdout: Writer) -> int:
    var_dir: Path = settings.VAR_DIR
    var_dir.mkdir(parents=True, exist_ok=True)
    children: dict[str, subprocess.Popen[bytes]] = {}
    child_env = dict(os.environ)
    if not env.get_str("REDIS_URL"):
        redis_process = embedded_redis.start(var_dir)
        if redis_process is not None:
            children["redis"] = redis_process
        child_env["REDIS_URL"] = embedded_redis.url_for(var_dir)
    call_command("migrate", interactive=False, verbosity=0)
    logins = io.StringIO()
    call_command("seed_demo", stdout=logins)

    stopping = False

    def request_stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    exit_code = 0
    try:
        for name, command in _processes(host, port, var_dir).items():
            children[name] = subprocess.Popen(command, env=child_env, cwd=settings.BASE_DIR)
        url = f"http://{host}:{port}"
        if _wait_until_serving(url, children):
            stdout.write("\nDemo organisation “Demo Company”: sign in with Password Login as any of\n")
            stdout.write(logins.getvalue())
            stdout.write(f"\nTOC is running at {url}/   (Ctrl+C stops it)\n")
            stdout.write("Operators: `.venv/bin/python manage.py createsuperuser`, then /admin/\n")
        else:
            stdout.write(f"TOC did not start serving {url} within {START_TIMEOUT_SECONDS} s; stopping.\n")
            stopping, exit_code = True, 1
        while not stopping:
            for name, process in children.items():
                if process.poll() is not None:
                    stdout.write(f"The {name} process exited with {process.returncode}; stopping TOC.\n")
                    stopping, exit_code = True, 1
                    break
            time.sleep(0.5)
    finally:
        _stop(children)
    return exit_code
