"""A desktop notification for a call ringing while the window is in the background: shown once,
naming the caller, closed when the call stops ringing; none while the window has the focus."""

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.test_calls import call_from_directory, call_window, signed_in_pair
from toc.calls.models import Call

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

# Records each Notification the page makes (the browser's own is kept underneath).
SPY_ON_NOTIFICATIONS = """(() => {
  const Real = window.Notification;
  window.notificationsMade = [];
  window.Notification = class extends Real {
    constructor(title, options = {}) {
      super(title, options);
      this.entry = { title, body: options.body, tag: options.tag, closed: false };
      window.notificationsMade.push(this.entry);
    }
    close() {
      this.entry.closed = true;
      super.close();
    }
  };
})();"""


def allow_notifications(page: Page, server: Server) -> None:
    page.context.grant_permissions(["notifications"], origin=server.url)
    page.add_init_script(SPY_ON_NOTIFICATIONS)


def test_a_call_ringing_in_a_background_window_notifies_until_it_stops_ringing(
    new_context: Any, e2e_server: Server
) -> None:
    # given bob's window, with notifications allowed, in the background (not focused)
    alice, bob, alice_page, bob_page = signed_in_pair(new_context)
    allow_notifications(bob_page, e2e_server)
    bob_page.reload()
    expect(bob_page.locator("body[data-connected=true]")).to_be_attached()
    # (Playwright makes every page act focused; without that, another tab of his in front)
    bob_page.context.new_cdp_session(bob_page).send("Emulation.setFocusEmulationEnabled", {"enabled": False})
    bob_page.context.new_page().bring_to_front()
    assert bob_page.evaluate("document.hasFocus()") is False

    # when alice calls him
    call_from_directory(alice_page, bob)
    expect(bob_page.locator(".call-toast")).to_be_visible()
    call = Call.objects.get()

    # then one notification names her
    made = bob_page.evaluate("window.notificationsMade")
    assert made == [
        {"title": "Incoming call", "body": f"{alice.display_name} (101)", "tag": f"call-{call.pk}", "closed": False}
    ]

    # when she hangs up before he answers, it is closed
    call_window(alice_page).get_by_role("button", name="Hang up").click()
    expect(bob_page.locator(".call-toast")).to_have_count(0)
    assert bob_page.evaluate("window.notificationsMade.map((entry) => entry.closed)") == [True]


def test_no_notification_while_the_window_has_the_focus(new_context: Any, e2e_server: Server) -> None:
    # given bob's window, with notifications allowed, in front
    _, bob, alice_page, bob_page = signed_in_pair(new_context)
    allow_notifications(bob_page, e2e_server)
    bob_page.reload()
    expect(bob_page.locator("body[data-connected=true]")).to_be_attached()
    bob_page.bring_to_front()
    assert bob_page.evaluate("document.hasFocus()") is True

    # when alice calls him, his window rings, without a notification
    call_from_directory(alice_page, bob)
    expect(bob_page.locator(".call-toast")).to_be_visible()
    assert bob_page.evaluate("window.notificationsMade") == []
    call_window(alice_page).get_by_role("button", name="Hang up").click()
    expect(bob_page.locator(".call-toast")).to_have_count(0)
