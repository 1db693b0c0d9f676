"""In Chromium: the event socket survives a server restart and the window refetches what
changed while it was away (a dropped socket never leaves a stale screen)."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Server, off_the_browser_thread
from tests.e2e.test_wizard_and_presence import open_communicator
from tests.factories import make_organisation, make_user
from toc.accounts import services
from toc.directory import services as directory_services
from toc.presence import services as presence_services

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_after_the_web_process_restarts_the_window_reconnects_and_shows_what_changed(new_context, e2e_server: Server):
    # given bob in the communicator
    acme = make_organisation(name="Acme", sso_domain="acme.example")
    bob = make_user(acme, "bob", extension="102")
    services.complete_profile(user=bob, calling_device="softphone", mobile_number="")
    page = new_context()
    open_communicator(page, bob)
    expect(page.locator("#me-presence-dot")).to_have_attribute("data-status", "available")

    # when the web process goes away
    e2e_server.stop("web")

    # then the window says it is reconnecting
    expect(page.locator("#connection-banner")).to_be_visible()
    expect(page.locator("body")).to_have_attribute("data-connected", "false")

    # when things change meanwhile (from another device) and the web process comes back
    off_the_browser_thread(presence_services.set_presence, user=bob, status="in_a_meeting", duration="1h")
    off_the_browser_thread(
        directory_services.create_contact,
        owner=bob,
        data=directory_services.ContactInput(name="Dana Client", work_number="613 555 0142"),
    )
    e2e_server.start("web")
    e2e_server.wait_until_up()

    # then it reconnects by itself and shows the new state without a reload
    expect(page.locator("body")).to_have_attribute("data-connected", "true", timeout=30_000)
    expect(page.locator("#connection-banner")).to_be_hidden()
    expect(page.locator("#me-presence-dot")).to_have_attribute("data-status", "in_a_meeting")
    page.get_by_role("tab", name="Contacts").click()
    expect(page.locator("#list .entry-name")).to_have_text(["Dana Client"])
