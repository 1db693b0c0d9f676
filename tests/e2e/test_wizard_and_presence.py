"""In Chromium: the Profile Wizard with a password, live presence between two browsers, and
the clear messages for a wrong password and an unknown SSO domain."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import screenshot
from tests.factories import PASSWORD, make_organisation, make_user
from toc.accounts import services
from toc.accounts.models import User
from toc.presence.models import Presence

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/")
    page.get_by_role("link", name="Next").click()
    page.get_by_role("link", name=re.compile("Password Login")).click()
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Next").click()


def open_communicator(page: Page, user: User) -> None:
    sign_in(page, user.email)
    expect(page.locator("body[data-connected=true]")).to_be_attached()


def entry_dot(page: Page, user: User) -> Locator:
    return page.locator(f'#list [data-kind="colleague"][data-id="{user.pk}"] .presence-dot')


def test_new_user_goes_through_the_wizard_and_a_colleague_sees_presence_change_live(new_context):
    # given alice (new) and bob (profile done) in one organisation
    acme = make_organisation(name="Acme", sso_domain="acme.example")
    alice = make_user(acme, "alice", extension="101", direct_number="+14165550101")
    bob = make_user(acme, "bob", extension="102")
    services.complete_profile(user=bob, calling_device="softphone", mobile_number="")
    alice_page, bob_page = new_context(), new_context()

    # when alice runs the Profile Wizard: Next -> Password Login -> Phones -> Finish
    sign_in(alice_page, alice.email)
    expect(alice_page.get_by_role("heading", name="Phones")).to_be_visible()
    alice_page.get_by_role("radio", name="Mobile").check()
    alice_page.get_by_role("textbox", name="Mobile (optional)").fill("416 555 0199")
    screenshot(alice_page, "wizard-phones")
    alice_page.get_by_role("button", name="Next").click()
    alice_page.get_by_role("button", name="Finish").click()

    # then she is in the communicator with her direct number at the bottom left
    expect(alice_page.locator("body[data-connected=true]")).to_be_attached()
    expect(alice_page.locator("#direct-number")).to_have_text("(416) 555-0101")
    alice.refresh_from_db()
    assert alice.calling_device == "mobile"
    assert alice.mobile_number == "+14165550199"
    assert alice.profile_completed_at is not None

    # when bob opens TOC in another browser, alice is online and Available
    open_communicator(bob_page, bob)
    expect(entry_dot(bob_page, alice)).to_have_attribute("data-status", "available")

    # and alice sets Busy for 1 hour from the presence menu
    alice_page.get_by_role("button", name=re.compile("Set your presence|Presence")).click()
    alice_page.get_by_role("menuitem", name="Busy").click()
    alice_page.get_by_label("1 hour").check()
    alice_page.get_by_role("button", name="Set").click()

    # then bob's screen shows it without reloading
    expect(entry_dot(bob_page, alice)).to_have_attribute("data-status", "busy", timeout=5_000)
    expect(alice_page.locator("#me-presence-dot")).to_have_attribute("data-status", "busy")
    screenshot(bob_page, "communicator-bob-sees-alice-busy")
    presence = Presence.objects.get(user=alice)
    assert presence.status == "busy"
    assert presence.expires_at is not None

    # when alice closes her window, bob sees her offline
    alice_page.context.close()
    expect(entry_dot(bob_page, alice)).to_have_attribute("data-status", "offline", timeout=5_000)


def test_next_visit_is_already_signed_in(new_context):
    # given bob went through the wizard once
    acme = make_organisation(name="Acme", sso_domain="acme.example")
    bob = make_user(acme, "bob", extension="102")
    page = new_context()
    sign_in(page, bob.email)
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Finish").click()
    expect(page.locator("body[data-connected=true]")).to_be_attached()

    # when he opens TOC again
    page.goto("/")

    # then he lands in the communicator, no wizard
    expect(page.locator("body[data-connected=true]")).to_be_attached()
    assert page.url.endswith("/")


def test_a_custom_status_that_expires_returns_to_available_through_the_worker(new_context):
    # given bob sees alice with a custom status
    acme = make_organisation(name="Acme", sso_domain="acme.example")
    alice = make_user(acme, "alice", extension="101")
    bob = make_user(acme, "bob", extension="102")
    for user in (alice, bob):
        services.complete_profile(user=user, calling_device="softphone", mobile_number="")
    alice_page, bob_page = new_context(), new_context()
    open_communicator(alice_page, alice)
    alice_page.get_by_role("button", name=re.compile("Set your presence|Presence")).click()
    alice_page.get_by_role("menuitem", name="Custom status...").click()
    alice_page.get_by_role("textbox", name="Custom status").fill("Working from home")
    alice_page.get_by_label("Show me as").select_option("away")
    alice_page.get_by_label("30 minutes").check()
    alice_page.get_by_role("button", name="Set").click()
    open_communicator(bob_page, bob)
    row = bob_page.locator(f'#list [data-kind="colleague"][data-id="{alice.pk}"]')
    expect(row).to_contain_text("Working from home")

    # when her 30 minutes are over and the Celery worker runs the expiry task
    Presence.objects.filter(user=alice).update(expires_at=timezone.now() - timedelta(seconds=1))
    from toc.presence.tasks import expire_presences

    expire_presences.delay()

    # then bob sees her Available again, live
    expect(entry_dot(bob_page, alice)).to_have_attribute("data-status", "available", timeout=10_000)
    expect(row).not_to_contain_text("Working from home")


def test_wrong_password_gets_a_clear_message(new_context):
    # given
    acme = make_organisation(name="Acme", sso_domain="acme.example")
    bob = make_user(acme, "bob", extension="102")
    page = new_context()

    # when
    sign_in(page, bob.email, password="not-his-password")

    # then
    expect(page.get_by_role("alert")).to_have_text("The e-mail address or password is not correct.")
    expect(page.get_by_label("E-mail address")).to_have_value(bob.email)
    screenshot(page, "wizard-wrong-password")


def test_unknown_sso_domain_gets_a_clear_message(new_context):
    # given
    page = new_context()
    page.goto("/login/")

    # when
    page.get_by_role("link", name=re.compile("SSO Login")).click()
    page.get_by_label("SSO Domain").fill("nowhere.example")
    page.get_by_role("button", name="Next").click()

    # then
    expect(page.get_by_role("alert")).to_contain_text("No organisation uses the SSO domain nowhere.example")
    screenshot(page, "wizard-unknown-sso-domain")
