"""End-to-end set-up: the real server processes (daphne, a Celery worker, a media worker) on
127.0.0.1, sharing the test database, and Debian's Chromium driven by Playwright.

Tests here use `transactional_db`, so what they create is committed and the server sees it.
"""

import os
import socket
import subprocess
import sys
import time
import wave
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy
import pytest
import requests
from django import db
from django.conf import settings
from django.core.management.base import CommandError
from django.db import OperationalError, connection
from django.test import TransactionTestCase
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.sms.fake_twilio import FakeTwilio

# Playwright's sync API keeps an event loop on the main thread; the tests' own ORM calls are
# plain synchronous code all the same (Django's documented switch for this case).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
T = TypeVar("T")
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
START_TIMEOUT_SECONDS = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def database_url() -> str:
    """The URL of the test database pytest-django created, for the server processes."""
    config = connection.settings_dict
    if config["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{config['NAME']}"
    user = config.get("USER") or "postgres"
    host = config.get("HOST") or "127.0.0.1"
    port = config.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{config['NAME']}"


class Server:
    def __init__(
        self,
        url: str,
        commands: dict[str, list[str]],
        env: dict[str, str],
        logs: Path,
    ) -> None:
        self.url = url
        self.commands = commands
        self.env = env
        self.logs = logs
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str) -> None:
        with (self.logs / f"{name}.log").open("ab") as log:
            self.processes[name] = subprocess.Popen(
                self.commands[name], env=self.env, cwd=settings.BASE_DIR, stdout=log, stderr=subprocess.STDOUT
            )

    def stop(self, name: str) -> None:
        process = self.processes.pop(name)
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def wait_until_up(self) -> None:
        _wait_until_up(self.url, self.processes, self.logs)

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")


def _wait_until_up(url: str, processes: dict[str, subprocess.Popen[bytes]], logs: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        for name, process in processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited early:\n{(logs / f'{name}.log').read_text()}")
        try:
            if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not become healthy within {START_TIMEOUT_SECONDS} s")


def wait_for_media_worker(server: "Server") -> None:
    from toc.media.models import MediaWorker

    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not MediaWorker.objects.exists():
        if time.monotonic() > deadline or server.processes["media"].poll() is not None:
            raise RuntimeError(f"the media worker did not register:\n{server.log('media')}")
        time.sleep(0.2)


@pytest.fixture(scope="session")
def fake_twilio() -> Iterator[FakeTwilio]:
    """Twilio for the server processes: a local server with Twilio's Messages API shapes."""
    with FakeTwilio() as server:
        yield server


@pytest.fixture(scope="session")
def e2e_server(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory, fake_twilio: FakeTwilio
) -> Iterator[Server]:
    with django_db_blocker.unblock():
        url_of_database = database_url()
    port = free_port()
    logs = tmp_path_factory.mktemp("server-logs")
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATABASE_URL=url_of_database,
        REDIS_URL=settings.REDIS_URL,
        PYTHONUNBUFFERED="1",
        PUBLIC_URL=f"http://127.0.0.1:{port}",
        TWILIO_ACCOUNT_SID=fake_twilio.account_sid,
        TWILIO_AUTH_TOKEN=fake_twilio.auth_token,
        TWILIO_API_BASE_URL=fake_twilio.base_url,
        SMS_CARRIER_TIMEOUT_SECONDS="2",
        SMS_HANDOVER_LEASE_SECONDS="5",
    )
    commands = {
        "web": [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "toc.asgi:application"],
        "worker": [sys.executable, "-m", "celery", "-A", "toc", "worker", "--pool", "solo", "--loglevel", "INFO"],
        "media": [sys.executable, "manage.py", "media_worker", "--capacity", "8"],
    }
    server = Server(f"http://127.0.0.1:{port}", commands, env, logs)
    try:
        for name in commands:
            server.start(name)
        server.wait_until_up()
        with django_db_blocker.unblock():
            wait_for_media_worker(server)
        yield server
    finally:
        for name in list(server.processes):
            server.stop(name)


CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",
]


@pytest.fixture(scope="session")
def playwright_driver(e2e_server: Server) -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is required for the browser tests: `make browser` installs it")
    with sync_playwright() as playwright:
        yield playwright


def launch(playwright: Playwright, *extra: str, base: Sequence[str] = CHROMIUM_ARGS) -> Browser:
    # Playwright's own headless mode mutes audio; Chromium's new headless mode does not.
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=False, args=[*base, *extra], timeout=30_000)


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    launched = launch(playwright_driver)
    try:
        yield launched
    finally:
        launched.close()


@pytest.fixture(scope="session")
def browser_with_tone(playwright_driver: Playwright, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A Chromium whose fake microphone plays a steady tone of `hz` (0: silence); one per tone."""
    folder = tmp_path_factory.mktemp("tones")
    launched: dict[int, Browser] = {}

    def get(hz: int) -> Browser:
        if hz not in launched:
            wav = folder / f"tone-{hz}.wav"
            write_tone(wav, hz)
            launched[hz] = launch(playwright_driver, f"--use-file-for-fake-audio-capture={wav}")
        return launched[hz]

    yield get
    for each in launched.values():
        each.close()


def write_tone(path: Path, hz: int, *, seconds: int = 4, rate: int = 48000) -> None:
    """A mono 16-bit WAV of a sine at -3 dBFS (Chromium loops it), or silence for hz=0."""
    samples = numpy.arange(seconds * rate)
    amplitude = 0.7 * 32767 if hz else 0.0
    data = (amplitude * numpy.sin(2 * numpy.pi * hz * samples / rate)).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(data.tobytes())


@pytest.fixture
def new_context(browser: Browser, e2e_server: Server) -> Iterator[Any]:
    """New pages in fresh contexts, of `browser` or of another Chromium (`on=`)."""
    contexts: list[BrowserContext] = []
    # The previous test's flush removed the media worker's row; it registers again on its
    # next heartbeat (2 s). A call placed before that would find no media worker.
    wait_for_media_worker(e2e_server)

    def make(on: Browser | None = None) -> Page:
        context = (on or browser).new_context(base_url=e2e_server.url, viewport={"width": 1280, "height": 800})
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
    settle_server()


FLUSH_ATTEMPTS = 3
_flush_once = TransactionTestCase._fixture_teardown  # type: ignore[attr-defined]


def _flush_with_retry(self: TransactionTestCase) -> None:
    """The flush after a test, tried again when it lost a deadlock to the server's own writes.

    The server processes keep writing while a test ends (a media worker's heartbeat, a late
    disconnect); PostgreSQL's TRUNCATE can deadlock with such a write and is then the one
    cancelled, which would leave the test's rows behind for the next test. `settle_server`
    makes this rare; trying again makes it harmless.
    """
    for attempt in range(1, FLUSH_ATTEMPTS + 1):
        try:
            _flush_once(self)
            return
        except CommandError as error:
            if attempt == FLUSH_ATTEMPTS or not isinstance(error.__cause__, OperationalError):
                raise
            time.sleep(0.5)


TransactionTestCase._fixture_teardown = _flush_with_retry  # type: ignore[attr-defined]


def settle_server(seconds: float = 10) -> None:
    """Wait (bounded) until the server has handled the closed pages: sockets gone, legs hung up.

    The test database is flushed (TRUNCATE) right after the test; on PostgreSQL a flush that
    races the server's own disconnect writes can deadlock and leave the next test dirty.
    """
    from toc.calls.models import Leg
    from toc.presence.models import Connection

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not Connection.objects.exists() and not Leg.objects.exclude(state="ended").exists():
            break
        time.sleep(0.1)
    time.sleep(0.3)  # the last writes of those handlers commit


def off_the_browser_thread(function: Callable[..., T], **kwargs: Any) -> T:
    """Run a service that sends live events on another thread: events leave through
    async_to_sync, which cannot run on the thread where Playwright keeps its event loop."""

    def call() -> T:
        try:
            return function(**kwargs)
        finally:
            db.connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(call).result(timeout=30)


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
