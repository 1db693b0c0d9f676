"""Call routing in real browsers: App Presence rules and Call Forwarding set in the Online Self
Care portal, then calls that follow them, with the caller's tone recorded in voicemail.

Tones as in test_call_handling: alice 1200 Hz, bob 800 Hz, dave 1600 Hz.
"""

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import off_the_browser_thread, screenshot
from tests.e2e.test_call_handling import DAVE_HZ, eventually, keypad_enter, window
from tests.e2e.test_voicemail import (
    default_greeting_seconds,
    deposit_call,
    dial,
    leave_tone,
    peak_of_file,
    signed_in,
)
from tests.factories import make_organisation, make_user
from toc.accounts.models import Organisation, User
from toc.calls.models import Call, CallForwarding, PresenceRule
from toc.calls.services import forwarding
from toc.voicemail import company
from toc.voicemail.models import VoicemailMessage

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

MAIN_NUMBER = "+14165550100"


def open_call_forwarding(communicator: Page, tab: str) -> Page:
    """From the communicator: More > Online Self Care opens the portal in a new tab; then
    Services > edit Call Forwarding > the tab."""
    communicator.get_by_role("button", name="More").click()
    with communicator.context.expect_page() as opened:
        communicator.get_by_role("menuitem", name="Online Self Care").click()
    page = opened.value
    expect(page.get_by_role("heading", name="Services")).to_be_visible()
    page.get_by_role("link", name="Edit Call Forwarding").click()
    page.get_by_role("tab", name=tab).click()
    return page


def presence_rule(page: Page, label: str) -> Any:
    return page.get_by_role("group", name=label, exact=True)


def fill_lines(rule: Any, lines: list[tuple[str, str]], *, local: bool = False) -> None:
    """Type the destination / timeout lines, pressing + for each line after the first."""
    scope = rule.locator(".rule-lines").nth(1 if local else 0)
    for number, (destination, seconds) in enumerate(lines, start=1):
        if number > 1:
            scope.get_by_role("button", name="Add a destination").click()
            expect(scope.get_by_label(f"Destination {number}", exact=True)).to_be_visible()
        scope.get_by_label(f"Destination {number}", exact=True).fill(destination)
        scope.get_by_label(f"Timeout {number} (seconds)").fill(seconds)


def set_presence(page: Page, label: str) -> None:
    page.get_by_role("button", name=re.compile("Set your presence|Presence")).click()
    page.get_by_role("menuitem", name=label).click()
    page.get_by_label("Until I change it").check()
    page.get_by_role("button", name="Set").click()
    expect(page.locator("#me-presence-dot")).to_have_attribute("data-status", label.lower())


def test_away_rule_rings_a_colleague_then_voicemail_keeps_the_callers_tone(
    new_context: Any, browser_with_tone: Any
) -> None:
    # given alice, bob and dave signed in
    (alice, bob, dave), pages = signed_in(new_context, browser_with_tone, "alice", "bob", "dave")
    alice_page, bob_page, dave_page = pages["alice"], pages["bob"], pages["dave"]

    # when alice, in the portal, ticks Away with "102 for 10 s, then 999" and saves
    portal = open_call_forwarding(alice_page, "App Presence")
    away = presence_rule(portal, "Away")
    away.get_by_role("checkbox", name="Away").check()
    fill_lines(away, [("102", "10"), ("999", "")])
    portal.get_by_role("button", name="Save").click()
    expect(portal.get_by_role("status")).to_have_text("App Presence rules saved.")
    screenshot(portal, "selfcare-app-presence-away-rule")
    rule = PresenceRule.objects.get(user=alice)
    assert (rule.status, rule.is_enabled, rule.lines, rule.local_lines) == (
        "away",
        True,
        [{"destination": "102", "seconds": 10}, {"destination": "999", "seconds": 0}],
        None,
    )

    # and "Test this rule" shows what a call will do
    portal.get_by_label("Presence").select_option("Away")
    portal.get_by_role("button", name="Test this rule").click()
    expect(portal.locator(".try-rule-steps li")).to_have_text(["Ring Bob Tester (102) for 10 s", "Then your voicemail"])

    # and she sets her presence to Away
    set_presence(alice_page, "Away")

    # when dave calls alice
    dial(dave_page, "101")

    # then bob's phone rings with dave's call, alice's does not
    expect(bob_page.locator(".call-toast")).to_contain_text("Dave Tester")
    call = eventually(lambda: Call.objects.filter(routed_for=alice).first())
    assert (call.state, call.callee_id) == ("ringing", bob.pk)
    expect(alice_page.locator(".call-toast")).to_have_count(0)

    # when nobody answers for 10 s, alice's voicemail takes the call and records dave's tone
    deposit = deposit_call(alice)
    assert deposit.pk == call.pk
    expect(bob_page.locator(".call-toast")).to_have_count(0)
    leave_tone(dave_page, call, default_greeting_seconds("101"))
    window(dave_page, call).get_by_role("button", name="Hang up").click()

    # then the message in alice's mailbox holds dave's tone
    message = eventually(lambda: VoicemailMessage.objects.filter(mailbox__user=alice).first(), seconds=15)
    assert (message.caller_name, message.caller_id) == ("Dave Tester", dave.pk)
    assert abs(peak_of_file(message.audio.name) - DAVE_HZ) <= 10
    ringing = list(call.transitions.filter(event__in=("ring", "forward", "voicemail")).values_list("event", "at"))
    assert [event for event, _ in ringing] == ["ring", "voicemail"]
    assert 9.5 <= (ringing[1][1] - ringing[0][1]).total_seconds() <= 13


def test_a_local_call_follows_the_local_rule_and_an_outside_call_does_not(
    new_context: Any, browser_with_tone: Any
) -> None:
    # given the company greeting of the main number offers 1 for alice (101)
    (alice, bob, dave), pages = signed_in(
        new_context, browser_with_tone, "alice", "bob", "dave", main_number=MAIN_NUMBER
    )
    alice_page, bob_page, dave_page = pages["alice"], pages["bob"], pages["dave"]
    User.objects.filter(pk=dave.pk).update(is_greetings_manager=True)
    dave.refresh_from_db()
    off_the_browser_thread(company.set_options, user=dave, options={"1": "101"})

    # when alice's Away rule sends outside callers to 999 and local callers to bob for 10 s
    portal = open_call_forwarding(alice_page, "App Presence")
    away = presence_rule(portal, "Away")
    away.get_by_role("checkbox", name="Away").check()
    fill_lines(away, [("999", "")])
    away.get_by_role("checkbox", name="Different rules for local calls").check()
    expect(away.locator(".rule-lines")).to_have_count(2)
    fill_lines(away, [("102", "10")], local=True)
    portal.get_by_role("button", name="Save").click()
    expect(portal.get_by_role("status")).to_have_text("App Presence rules saved.")
    screenshot(portal, "selfcare-app-presence-local-rule")
    set_presence(alice_page, "Away")

    # when dave calls the main number and presses 1 for alice: an outside call
    dial(dave_page, MAIN_NUMBER)
    attendant = eventually(lambda: Call.objects.filter(caller=dave, dialled=MAIN_NUMBER).first())
    eventually(lambda: Call.objects.get(pk=attendant.pk).state == "answered")
    keypad_enter(dave_page, attendant, "1")

    # then it goes straight to alice's voicemail: bob's phone never rings
    deposit = deposit_call(alice)
    assert deposit.pk == attendant.pk
    assert deposit.transitions.filter(event="forward").count() == 0
    expect(bob_page.locator(".call-toast")).to_have_count(0)
    window(dave_page, attendant).get_by_role("button", name="Hang up").click()
    eventually(lambda: Call.objects.get(pk=attendant.pk).state == "ended")

    # when dave calls alice's extension: a local call
    dial(dave_page, "101")

    # then the local rule rings bob
    expect(bob_page.locator(".call-toast")).to_contain_text("Dave Tester")
    local = eventually(lambda: Call.objects.filter(routed_for=alice, dialled="101").first())
    assert Call.objects.get(pk=local.pk).callee_id == bob.pk


def test_a_forwarding_loop_is_refused_with_a_clear_message(new_context: Any, browser_with_tone: Any) -> None:
    # given alice forwards every call to bob
    (alice, bob, _), pages = signed_in(new_context, browser_with_tone, "bob")
    off_the_browser_thread(
        forwarding.save_forwarding,
        user=alice,
        always="102",
        busy="",
        no_answer="",
        no_answer_seconds="20",
        unreachable="",
    )

    # when bob, in the portal, forwards every call to alice
    portal = open_call_forwarding(pages["bob"], "Forwarding")
    portal.get_by_label("Always").fill("101")
    portal.get_by_role("button", name="Save").click()

    # then he is told why, next to the field, and nothing is saved
    expect(portal.locator("#always-error")).to_have_text(
        "Forward Always: that makes a forwarding loop (102 → 101 → 102); calls would never reach anyone."
    )
    expect(portal.get_by_label("Always")).to_have_attribute("aria-invalid", "true")
    screenshot(portal, "selfcare-forwarding-loop-refused")
    assert not CallForwarding.objects.filter(user=bob).exists()
    assert Organisation.objects.count() == 1


def test_a_plain_user_cannot_open_admin_pages_and_another_organisations_user_is_not_found(
    new_context: Any, browser_with_tone: Any
) -> None:
    # given alice (admin) and bob (plain user) of acme signed in, and carol of globex
    (alice, bob, _), pages = signed_in(new_context, browser_with_tone, "alice", "bob")
    User.objects.filter(pk=alice.pk).update(is_org_admin=True)
    globex = make_organisation(name="Globex", sso_domain="globex.example")
    carol = make_user(globex, "carol", extension="101")
    bob_portal = pages["bob"].context.new_page()
    alice_portal = pages["alice"].context.new_page()

    # when bob opens the admin pages, he is refused with a reason and sees no Admin menu
    for path in ("/selfcare/admin/users/", "/selfcare/admin/call-settings/", "/selfcare/admin/audit/"):
        response = bob_portal.goto(path)
        assert response is not None and response.status == 403
        expect(bob_portal.get_by_role("alert")).to_have_text("Only your company's administrators can open this page.")
    expect(bob_portal.get_by_role("navigation", name="Self Care").get_by_role("link", name="Users")).to_have_count(0)

    # when alice (an admin) opens her own colleague, then carol by her id
    own = alice_portal.goto(f"/selfcare/admin/users/{bob.pk}/")
    other = alice_portal.goto(f"/selfcare/admin/users/{carol.pk}/")
    changed = alice_portal.request.post(
        f"/selfcare/admin/users/{carol.pk}/disable/", headers={"X-CSRFToken": csrf_token(alice_portal)}
    )

    # then her colleague opens; carol does not exist for her, and nothing changed
    assert own is not None and own.status == 200
    assert other is not None and other.status == 404
    assert changed.status == 404
    assert User.objects.get(pk=carol.pk).is_active is True


def csrf_token(page: Page) -> str:
    return next(cookie["value"] for cookie in page.context.cookies() if cookie["name"] == "csrftoken")
