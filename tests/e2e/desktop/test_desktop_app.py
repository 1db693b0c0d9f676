"""The desktop app as a user meets it, under Xvfb: the real window (pywebview, QtWebEngine) with
fake media devices, against the real server processes, driven over DevTools (tests/e2e/desktop/cdp.py).
"""

import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Server, free_port
from tests.e2e.desktop.cdp import Page
from tests.e2e.desktop.conftest import DesktopApp, distinct_colours
from tests.e2e.test_calls import ALICE_HZ, BOB_HZ, HEAR_REMOTE, call_window, colleagues
from tests.e2e.test_wizard_and_presence import open_communicator
from tests.factories import PASSWORD, make_organisation, make_user
from toc.accounts import services as account_services
from toc.calls.models import Call

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

CONNECTED = "document.body && document.body.dataset.connected === 'true'"
AVAILABLE_GREEN = (0x1E, 0x8E, 0x3E)
BRIDGE_READY = "document.documentElement.dataset.tocDesktop === 'ready'"
ASK = """(method, args) => new Promise((resolve) => {
  const id = `test-${Math.random()}`;
  document.addEventListener('toc-desktop-answer', function listen(event) {
    const answer = JSON.parse(event.detail);
    if (answer.id !== id) return;
    document.removeEventListener('toc-desktop-answer', listen);
    resolve(answer.result);
  });
  const detail = JSON.stringify({ id, method, args });
  document.dispatchEvent(new CustomEvent('toc-desktop-request', { detail }));
})"""
IN_A_CALL = "[...document.querySelectorAll('#call-windows .call-state')].some((el) => el.textContent === 'Connected')"


def connect(page: Page, address: str) -> None:
    """The first-launch page: type the company's address and press Next."""
    page.wait_for(BRIDGE_READY)
    assert page.text("h1") == "Connect to your company"
    page.fill("#address", address)
    page.click("#connect-button")


def password_login(page: Page, email: str) -> None:
    """The Profile Wizard in the window: Next -> Password Login -> e-mail and password -> Next."""
    page.wait_for("location.pathname === '/welcome/' && document.readyState === 'complete'")
    page.click("a.button.primary")
    page.wait_for("location.pathname === '/login/' && document.readyState === 'complete'")
    page.click("a.choice[href='/login/password/']")
    page.wait_for("document.readyState === 'complete' && !!document.querySelector('#email')")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")


def signed_in_app(server: Server, desktop_app: Any) -> tuple[DesktopApp, Page]:
    """The app started at `server` with alice (her profile done) signed in."""
    _, alice, _ = colleagues()
    app = desktop_app()
    page = app.start("--company-url", server.url)
    password_login(page, alice.email)
    page.wait_for(CONNECTED)
    return app, page


def ask(page: Page, method: str, *args: Any) -> Any:
    """A request to the app through the page bridge, as web/desktop.js makes them."""
    return page.apply(ASK, method, list(args))


def test_first_launch_runs_the_wizard_in_the_window_and_a_call_with_a_browser_user_is_heard_both_ways(
    e2e_server: Server, new_context: Any, browser_with_tone: Any, desktop_app: Any
) -> None:
    # given alice, new (wizard not done), and bob in Chromium, whose microphones play 1200 / 800 Hz
    acme = make_organisation(name="Acme", sso_domain="acme.example")
    alice = make_user(acme, "alice", extension="101")
    bob = make_user(acme, "bob", extension="102")
    account_services.complete_profile(user=bob, calling_device="softphone", mobile_number="")
    bob_page = new_context(on=browser_with_tone(BOB_HZ))
    open_communicator(bob_page, bob)

    # when alice launches the app for the first time and types the company's address
    app = desktop_app(tone_hz=ALICE_HZ)
    page = app.start()
    connect(page, e2e_server.url.removeprefix("http://"))
    # then the window runs the Profile Wizard: Password Login, Phones (defaults) -> Next, Finish
    password_login(page, alice.email)
    page.wait_for("location.pathname === '/wizard/phones/' && document.readyState === 'complete'")
    page.click("button[type=submit]")
    page.wait_for("location.pathname === '/wizard/finish/' && document.readyState === 'complete'")
    page.click("button[type=submit]")
    page.wait_for(CONNECTED)
    assert page.url() == f"{e2e_server.url}/"
    settings = json.loads((app.data_dir / "settings.json").read_text())
    assert settings == {"company_url": e2e_server.url}
    # and notifications were turned on without a prompt, and the tray was told her presence
    assert page.wait_for("Notification.permission === 'granted' && Notification.permission") == "granted"
    app.wait_for_log("presence: available (Available)")

    # and the window, as the screen shows it, is the communicator (not blank)
    shot = app.screenshot("desktop-communicator")
    count, colours = distinct_colours(shot)
    assert count > 100, f"the screenshot looks blank: {count} colours"
    assert AVAILABLE_GREEN in colours  # the presence dots: the communicator, not an error page

    # when alice calls bob from the directory and he answers in Chromium
    page.click(f"button[aria-label='Call {bob.display_name}']")
    bob_page.locator(".call-toast").get_by_role("button", name="Answer").click()
    expect(call_window(bob_page).locator(".call-state")).to_have_text("Connected")
    page.wait_for(IN_A_CALL)
    call = Call.objects.get()

    # then each hears the other's tone: the app's microphone was granted to the company's page
    alice_hears = page.apply(HEAR_REMOTE, str(call.pk), timeout=30)
    bob_hears = bob_page.evaluate(HEAR_REMOTE, str(call.pk))
    assert alice_hears["peak_hz"] == pytest.approx(BOB_HZ, abs=10)
    assert bob_hears["peak_hz"] == pytest.approx(ALICE_HZ, abs=10)
    assert alice_hears["rms_dbfs"] > -30
    assert bob_hears["rms_dbfs"] > -30
    assert f"permission MediaAudioCapture for {e2e_server.url}/: granted" in app.log()
    app.screenshot("desktop-in-a-call")


def test_an_sso_domain_finds_the_company_through_the_directory_and_opens_its_sso_step(
    e2e_server: Server, desktop_app: Any
) -> None:
    # given an app built with a directory (here the same server), and Acme's SSO domain
    make_organisation(name="Acme", sso_domain="acme.example")
    app = desktop_app()
    page = app.start(directory_url=e2e_server.url)

    # when the user types an SSO domain nobody uses, it is refused with the wizard's sentence
    connect(page, "bob@nobody.example")
    error = page.wait_for("document.getElementById('connect-error').textContent")
    assert error == "No company uses the SSO domain nobody.example. Check your welcome e-mail."

    # when they type their company's SSO domain
    page.fill("#address", "ACME.example")
    page.click("#connect-button")
    # then the window opens the wizard's SSO step at the company's address, the domain filled in
    page.wait_for("location.pathname === '/login/sso/' && document.readyState === 'complete'")
    assert page.url() == f"{e2e_server.url}/login/sso/?domain=acme.example"
    assert page.evaluate("document.getElementById('domain').value") == "acme.example"
    assert json.loads((app.data_dir / "settings.json").read_text()) == {"company_url": e2e_server.url}
    app.wait_for_log(f"company address: {e2e_server.url} (SSO domain: acme.example)")


def test_the_next_launch_is_signed_in_and_signing_out_clears_it(e2e_server: Server, desktop_app: Any) -> None:
    # given alice signed in once in the app (her profile done)
    _, alice, _ = colleagues()
    app = desktop_app()
    page = app.start()
    connect(page, e2e_server.url)
    password_login(page, alice.email)
    page.wait_for(CONNECTED)
    assert app.stop() == 0

    # when she launches it again
    page = app.start()
    # then it opens the communicator straight away, signed in
    page.wait_for(CONNECTED, timeout=30)
    assert page.url() == f"{e2e_server.url}/"

    # when she signs out in the communicator (a cookie the server does not touch is there too)
    page.evaluate("document.cookie = 'left_by_the_page=1; max-age=86400; path=/'")
    # (read here by the page: DevTools' Network.getAllCookies before a navigation stalls QtWebEngine)
    assert page.evaluate("document.cookie.includes('left_by_the_page=1')") is True
    page.click("#sign-out-form button[type=submit]")
    page.wait_for("location.pathname === '/login/'")
    app.wait_for_log("signed out: cookies and cache cleared")
    # then the app deleted every cookie of the company (the server only deletes its session's)
    names = [cookie["name"] for cookie in page.call("Network.getAllCookies")["cookies"]]
    assert "sessionid" not in names
    assert "left_by_the_page" not in names
    assert app.stop() == 0

    # and the next launch asks her to sign in (the Profile Wizard), at the same company
    page = app.start()
    page.wait_for("location.pathname === '/welcome/'", timeout=30)
    assert page.url() == f"{e2e_server.url}/welcome/"


def test_permissions_and_the_bridge_are_for_the_company_origin_only(e2e_server: Server, desktop_app: Any) -> None:
    # given the app at the company, on the wizard's first page (no script of ours asks anything)
    _, alice, _ = colleagues()
    app = desktop_app()
    page = app.start("--company-url", e2e_server.url)
    page.wait_for("location.pathname === '/welcome/' && document.readyState === 'complete'")
    granted = f"permission Notifications for {e2e_server.url}/: granted"

    # then the company's page asking for notifications gets an answer: granted, by the app
    assert page.evaluate("Notification.permission") == "default"
    assert page.evaluate("Notification.requestPermission()") == "granted"
    assert app.log().count(granted) == 1

    # and, signed in, a notification of the communicator is shown
    password_login(page, alice.email)
    page.wait_for(CONNECTED)
    shown = page.evaluate(
        """new Promise((resolve) => {
          const notification = new Notification('Hello from the test', { body: 'Shown by the desktop' });
          notification.onshow = () => resolve('shown');
          notification.onerror = () => resolve('error');
          setTimeout(() => resolve('not shown'), 5000);
        })"""
    )
    assert shown == "shown"
    app.wait_for_log("notification shown: Hello from the test: Shown by the desktop")
    assert ask(page, "desktop_state") == {"start_at_login": False, "tray": False}

    # when the window shows a page of another origin (the same server as localhost)
    other = e2e_server.url.replace("127.0.0.1", "localhost")
    page.evaluate(f"location.assign({json.dumps(other + '/welcome/')})")
    page.wait_for(f"location.origin === {json.dumps(other)} && document.readyState === 'complete'")
    page.wait_for(BRIDGE_READY)
    # then it gets no notification, no microphone, and no answer from the app
    assert page.evaluate("Notification.requestPermission()") == "denied"
    microphone = page.evaluate(
        "navigator.mediaDevices.getUserMedia({audio: true}).then(() => 'granted', (error) => error.name)"
    )
    assert microphone == "AbortError"  # how QtWebEngine rejects a denied request
    assert ask(page, "desktop_state") == {"error": "Not available on this page."}
    assert ask(page, "connect", "127.0.0.1:1") == {"error": "Not available on this page."}
    assert f"permission MediaAudioCapture for {other}/: denied" in app.log()


def test_start_at_login_is_a_preference_in_the_app(e2e_server: Server, desktop_app: Any) -> None:
    # given alice signed in in the app
    app, page = signed_in_app(e2e_server, desktop_app)
    entry = app.config_home / "autostart" / "toc-desktop.desktop"

    # when she turns on "Start TOC when I sign in to this computer" in Preferences
    page.click("button.rail-button[data-view=preferences]")
    page.wait_for("!document.getElementById('desktop-preferences').hidden")
    assert page.evaluate("document.getElementById('start-at-login').checked") is False
    page.click("#start-at-login")
    # then an XDG autostart entry starts the app in the background, with her data folder
    page.wait_for("document.getElementById('start-at-login').checked")
    app.wait_for_log("start at login: on")
    exec_line = next(line for line in entry.read_text().splitlines() if line.startswith("Exec="))
    assert exec_line.endswith(f"-m toc.desktop --data-dir {app.data_dir} --background")

    # when she turns it off again, the entry is gone
    page.click("#start-at-login")
    app.wait_for_log("start at login: off")
    assert not entry.exists()
    assert page.evaluate("document.getElementById('start-at-login').checked") is False


def test_a_server_that_cannot_be_reached_offers_retry_and_another_address(tmp_path: Path, desktop_app: Any) -> None:
    # given an app whose company address answers nothing (a closed port on this computer)
    data_dir = tmp_path / "unreachable"
    data_dir.mkdir()
    closed = f"http://127.0.0.1:{free_port()}"
    (data_dir / "settings.json").write_text(json.dumps({"company_url": closed}))
    app = desktop_app(data_dir=data_dir)

    # when it starts
    page = app.start()
    # then it says so, with the address, and tries again by itself
    page.wait_for("document.title === 'Cannot reach TOC'")
    assert page.text("#where").startswith(f"{closed}: ")
    assert re.fullmatch(r"Trying again in \d+ s\.", page.text("#countdown"))
    # and "Use another address" goes back to the first-launch page with the address filled in
    page.wait_for(BRIDGE_READY)
    page.click("#change-button")
    page.wait_for("document.title === 'Connect · TOC'")
    page.wait_for(BRIDGE_READY)
    assert page.evaluate("document.getElementById('address').value") == closed
    # and an address that answers nothing is refused there with a sentence
    page.click("#connect-button")
    error = page.wait_for("document.getElementById('connect-error').textContent")
    assert error.startswith(f"No TOC server answered at {closed} (")
    assert error.endswith("). Check the address in your welcome e-mail.")


def test_a_download_is_saved_in_the_downloads_folder_without_overwriting(e2e_server: Server, desktop_app: Any) -> None:
    # given alice signed in in the app, and a file of that name already in her Downloads folder
    app, page = signed_in_app(e2e_server, desktop_app)
    downloads = app.home / "Downloads"
    downloads.mkdir()
    (downloads / "minutes.txt").write_text("older")

    # when the page downloads a file (as a chat attachment's Download does)
    page.evaluate(
        """(() => {
          const link = document.createElement('a');
          link.href = URL.createObjectURL(new Blob(['Minutes of Monday'], { type: 'text/plain' }));
          link.download = 'minutes.txt';
          document.body.append(link);
          link.click();
          link.remove();
        })()"""
    )

    # then it is saved next to the older one, which is kept, and a notification says so
    app.wait_for_log(f"downloaded {downloads / 'minutes (1).txt'}")
    assert (downloads / "minutes (1).txt").read_text() == "Minutes of Monday"
    assert (downloads / "minutes.txt").read_text() == "older"
    app.wait_for_log(f"notification shown: Download finished: minutes (1).txt is in {downloads}.")


def test_a_second_launch_shows_the_running_app_instead_of_starting_another(
    e2e_server: Server, desktop_app: Any
) -> None:
    # given TOC running with its data folder
    app, page = signed_in_app(e2e_server, desktop_app)

    # when it is launched again on the same folder
    second = app.launch()
    # then the second launch ends at once, having asked the running one to show its window
    assert second.wait(timeout=30) == 0
    app.wait_for_log("another launch asked to show the window")
    assert app.log().count("window ready:") == 1
    assert page.evaluate(CONNECTED) is True
