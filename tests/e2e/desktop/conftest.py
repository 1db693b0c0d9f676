"""The desktop app under a virtual screen: Xvfb, the app as a real process (QtWebEngine with
fake media devices, DevTools on a loopback port for the tests), and the e2e server processes."""

import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy
import pytest

from tests.e2e.conftest import ARTIFACTS, free_port, settle_server, write_tone
from tests.e2e.desktop.cdp import Page

STOP_TIMEOUT_SECONDS = 20
XVFB_START_SECONDS = 15
SCREEN_WIDTH, SCREEN_HEIGHT = 1280, 800
SCREEN_GEOMETRY = f"{SCREEN_WIDTH}x{SCREEN_HEIGHT}x24"
SOURCE_APP = [sys.executable, "-m", "toc.desktop"]


@pytest.fixture(scope="session")
def xvfb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A virtual screen of our own (Xvfb picks a free display number), for the whole session."""
    if shutil.which("Xvfb") is None:
        pytest.fail("Xvfb is required: `make desktop-system` installs it")
    read_end, write_end = os.pipe()
    log = tmp_path_factory.mktemp("xvfb") / "xvfb.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_end), "-screen", "0", SCREEN_GEOMETRY, "-nolisten", "tcp"],
            stdout=out,
            stderr=subprocess.STDOUT,
            pass_fds=(write_end,),
        )
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], XVFB_START_SECONDS)
        number = os.read(read_end, 32).decode().strip() if ready else ""
        if not number.isdigit():
            pytest.fail(f"Xvfb did not start within {XVFB_START_SECONDS} s: {log.read_text()}")
        yield f":{number}"
    finally:
        os.close(read_end)
        process.terminate()
        process.wait(timeout=10)


class DesktopApp:
    """Runs of the app (`python -m toc.desktop`, or a packaged build's `command`) with one data
    folder, each driven over DevTools."""

    def __init__(
        self, display: str, data_dir: Path, config_home: Path, tone_wav: Path | None, command: list[str]
    ) -> None:
        self.command = command
        self.home = config_home.parent / "home"  # downloads go to its Downloads folder
        self.home.mkdir(exist_ok=True)
        self.display = display
        self.data_dir = data_dir
        self.config_home = config_home
        self.tone_wav = tone_wav
        self.process: subprocess.Popen[bytes] | None = None
        self.page: Page | None = None

    @property
    def log_path(self) -> Path:
        return self.data_dir / "toc-desktop.log"

    def launch(self, *args: str, directory_url: str = "") -> "subprocess.Popen[bytes]":
        """Start the process only (no DevTools attached)."""
        port = free_port()
        flags = ["--use-fake-device-for-media-stream", "--allow-loopback-in-peer-connection"]
        if self.tone_wav:
            flags.append(f"--use-file-for-fake-audio-capture={self.tone_wav}")
        env = dict(
            os.environ,
            DISPLAY=self.display,
            QT_API="pyside6",
            QTWEBENGINE_REMOTE_DEBUGGING=f"127.0.0.1:{port}",
            QTWEBENGINE_CHROMIUM_FLAGS=" ".join(flags),
            XDG_CONFIG_HOME=str(self.config_home),
            HOME=str(self.home),
            PYTHONUNBUFFERED="1",
            TOC_DESKTOP_DIRECTORY_URL=directory_url,
        )
        self.devtools_port = port
        with (self.data_dir.parent / f"{self.data_dir.name}-stdout.log").open("ab") as out:
            return subprocess.Popen(
                [*self.command, "--data-dir", str(self.data_dir), *args], env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def start(self, *args: str, directory_url: str = "") -> Page:
        self.process = self.launch(*args, directory_url=directory_url)
        self.page = Page.attach(self.devtools_port)
        return self.page

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for_log(self, text: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log():
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not in the app's log:\n{self.log()[-3000:]}")
            time.sleep(0.1)

    def stop(self) -> int:
        """Quit as a session logout does (SIGTERM); the app's exit code."""
        if self.page is not None:
            self.page.close()
            self.page = None
        if self.process is None:
            return 0
        process, self.process = self.process, None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
            raise AssertionError("the app did not quit on SIGTERM") from None

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        subprocess.run(["import", "-display", self.display, "-window", "root", str(path)], check=True, timeout=30)
        return path


def screen_pixels(png: Path) -> Any:
    """A 1280x800 screenshot's pixels (rows, columns, RGB), decoded by ImageMagick."""
    raw = subprocess.run(["convert", str(png), "-depth", "8", "rgb:-"], check=True, capture_output=True, timeout=30)
    return numpy.frombuffer(raw.stdout, dtype=numpy.uint8).reshape(SCREEN_HEIGHT, SCREEN_WIDTH, 3)


def distinct_colours(png: Path) -> tuple[int, set[tuple[int, int, int]]]:
    """How many colours a screenshot has, and the set of them."""
    rows = numpy.unique(screen_pixels(png).reshape(-1, 3), axis=0)
    colours = {(int(red), int(green), int(blue)) for red, green, blue in rows}
    return len(colours), colours


@pytest.fixture
def desktop_app(xvfb: str, tmp_path: Path) -> Iterator[Any]:
    """Makes desktop apps (`make(tone_hz=...)`); they share one data folder unless told."""
    apps: list[DesktopApp] = []
    config_home = tmp_path / "config"

    def make(
        *, tone_hz: int | None = None, data_dir: Path | None = None, command: list[str] = SOURCE_APP
    ) -> DesktopApp:
        wav = None
        if tone_hz is not None:
            wav = tmp_path / f"desktop-tone-{tone_hz}.wav"
            write_tone(wav, tone_hz)
        app = DesktopApp(xvfb, data_dir or tmp_path / "toc-data", config_home, wav, command)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.stop()
    settle_server()
