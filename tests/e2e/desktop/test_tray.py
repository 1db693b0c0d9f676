"""The tray, with a real XEmbed system tray (trayer) and window manager (openbox) on the
virtual screen: the icon shows the user's presence, closing the window keeps TOC running there
(an incoming call then notifies), the icon brings the window back, and its menu quits."""

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Server
from tests.e2e.desktop.conftest import SCREEN_WIDTH, DesktopApp, screen_pixels
from tests.e2e.desktop.test_desktop_app import ask, signed_in_app
from tests.e2e.test_calls import call_from_directory
from tests.e2e.test_wizard_and_presence import open_communicator
from toc.accounts.models import User

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

TRAY_WIDTH, TRAY_HEIGHT = 240, 32
AVAILABLE_GREEN = (0x1E, 0x8E, 0x3E)
BUSY_RED = (0xC5, 0x22, 0x1F)
BRAND_BLUE = (0x1F, 0x5F, 0xBF)
TRAYER = [
    *("trayer", "--edge", "top", "--align", "right", "--transparent", "false", "--tint", "0x202020"),
    *("--widthtype", "pixel", "--width", str(TRAY_WIDTH), "--heighttype", "pixel", "--height", str(TRAY_HEIGHT)),
]


def run(display: str, *command: str) -> str:
    result = subprocess.run(command, env={"DISPLAY": display, "PATH": "/usr/bin:/bin"}, capture_output=True, timeout=15)
    return result.stdout.decode().strip()


@pytest.fixture
def tray(xvfb: str) -> Iterator[str]:
    """openbox and trayer (a tray at the screen's top right) for one test."""
    processes = [
        subprocess.Popen(["openbox", "--sm-disable"], env={"DISPLAY": xvfb, "HOME": "/tmp"}, stderr=subprocess.DEVNULL),
        subprocess.Popen(TRAYER, env={"DISPLAY": xvfb}, stderr=subprocess.DEVNULL),
    ]
    deadline = time.monotonic() + 15
    while not run(xvfb, "xdotool", "search", "--class", "trayer"):
        if time.monotonic() > deadline:
            pytest.fail("trayer did not start (`make desktop-system` installs it)")
        time.sleep(0.1)
    try:
        yield xvfb
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


def tray_pixels(app: DesktopApp, name: str) -> Any:
    return screen_pixels(app.screenshot(name))[:TRAY_HEIGHT, SCREEN_WIDTH - TRAY_WIDTH :]


def count(pixels: Any, colour: tuple[int, int, int]) -> int:
    return int(numpy.all(pixels == numpy.array(colour, dtype=numpy.uint8), axis=2).sum())


def wait_for_tray_colour(app: DesktopApp, colour: tuple[int, int, int], name: str) -> Any:
    deadline = time.monotonic() + 10
    while True:
        pixels = tray_pixels(app, name)
        if count(pixels, colour) >= 4 or time.monotonic() > deadline:
            return pixels
        time.sleep(0.3)


def icon_centre(pixels: Any) -> tuple[int, int]:
    """Where TOC's icon (the brand blue) is, in screen coordinates."""
    rows, columns = numpy.nonzero(numpy.all(pixels == numpy.array(BRAND_BLUE, dtype=numpy.uint8), axis=2))
    assert len(rows), "TOC's icon is not in the tray"
    return SCREEN_WIDTH - TRAY_WIDTH + int(columns.mean()), int(rows.mean())


def window_shown(display: str) -> bool:
    return bool(run(display, "xdotool", "search", "--onlyvisible", "--name", "^TOC$"))


def test_the_tray_icon_shows_presence_keeps_toc_running_and_quits(
    e2e_server: Server, new_context: Any, desktop_app: Any, tray: str, tmp_path: Path
) -> None:
    # given alice signed in in the app, on a desktop with a tray
    app, page = signed_in_app(e2e_server, desktop_app)
    alice, bob = User.objects.get(extension="101"), User.objects.get(extension="102")
    assert ask(page, "desktop_state") == {"start_at_login": False, "tray": True}

    # then the tray icon carries her presence: available (green)
    pixels = wait_for_tray_colour(app, AVAILABLE_GREEN, "desktop-tray-available")
    assert count(pixels, AVAILABLE_GREEN) >= 4
    # when she sets Busy, it turns red
    page.click("#presence-button")
    page.click("#presence-menu [data-status=busy]")
    page.click("#presence-form button[type=submit]")
    app.wait_for_log("presence: busy (Busy)")
    pixels = wait_for_tray_colour(app, BUSY_RED, "desktop-tray-busy")
    assert count(pixels, BUSY_RED) >= 4
    assert count(pixels, AVAILABLE_GREEN) == 0

    # when she closes the window, TOC keeps running in the tray
    run(tray, "wmctrl", "-F", "-c", "TOC")
    app.wait_for_log("window closed: TOC keeps running in the tray")
    assert app.process is not None and app.process.poll() is None
    assert not window_shown(tray)
    # and a call to her then notifies (the page is hidden)
    bob_page = new_context()
    open_communicator(bob_page, bob)
    call_from_directory(bob_page, alice)
    app.wait_for_log(f"notification shown: Incoming call: {bob.display_name} (102)")
    bob_page.locator("#call-windows section.call-window").last.get_by_role("button", name="Hang up").click()
    expect(bob_page.locator("#call-windows section.call-window .call-state").last).not_to_have_text("Calling…")

    # when she clicks the tray icon, the window comes back
    x, y = icon_centre(pixels)
    run(tray, "xdotool", "mousemove", str(x), str(y), "click", "1")
    deadline = time.monotonic() + 10
    while not window_shown(tray):
        assert time.monotonic() < deadline, "the window did not come back"
        time.sleep(0.1)

    # when she picks Quit TOC in the icon's menu (the last item), the app ends
    run(tray, "xdotool", "mousemove", str(x), str(y), "click", "3")
    time.sleep(0.5)
    run(tray, "xdotool", "key", "Up", "Return")
    assert app.process is not None
    assert app.process.wait(timeout=20) == 0
    assert "quitting" in app.log()
