"""The voicemail phone menu in real browsers: *86 behind its PIN (a wrong PIN counted, the right
one admitted), the lockout after five wrong PINs over separate calls, and a greeting recorded by
phone (*86, 0, 1) that callers then hear through *85. Tones and levels as in test_voicemail.py.
"""

import re
from typing import Any

import pytest
from django.core.files.storage import default_storage
from playwright.sync_api import Page, expect

from tests.e2e.test_call_handling import ALICE_HZ, eventually, heard, hears_only, keypad_enter, window
from tests.e2e.test_voicemail import (
    BEEP_SECONDS,
    dial,
    ends_by_itself,
    hears_speech,
    peak_of_file,
    prompt_seconds,
    signed_in,
)
from toc.accounts.models import User
from toc.calls.models import Call
from toc.voicemail import services as voicemail_services
from toc.voicemail.models import Mailbox, VoicemailCall

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

PIN = "2468"


def dial_mailbox(page: Page, user: User, number: str = "*86") -> Call:
    """Dial a mailbox (*86, *84…, *85…) and return the call once its window shows it answered;
    a mailbox menu opens its keypad by itself."""
    earlier = list(Call.objects.filter(caller=user).values_list("pk", flat=True))
    dial(page, number)
    call = eventually(lambda: Call.objects.filter(caller=user, dialled=number).exclude(pk__in=earlier).first())
    expect(window(page, call)).to_have_attribute("data-state", "answered")
    if number in ("*86", "999") or number.startswith("*84"):
        expect(window(page, call).locator(".keypad")).to_be_visible()
    return call


def mailbox_of(user: User) -> Mailbox:
    return Mailbox.objects.get(user=user)


def wait_for_failures(user: User, failures: int) -> bool:
    return bool(eventually(lambda: mailbox_of(user).failed_pin_attempts == failures, seconds=8))


def menu_step(call: Call) -> str:
    session = VoicemailCall.objects.filter(call=call).first()
    return str(session.menu.get("step", "")) if session is not None else ""


def test_the_mailbox_menu_counts_a_wrong_pin_and_admits_the_right_one(new_context: Any, browser_with_tone: Any) -> None:
    # given alice's mailbox has a PIN
    (alice, _, _), pages = signed_in(new_context, browser_with_tone, "alice")
    alice_page = pages["alice"]
    voicemail_services.set_pin(user=alice, pin=PIN)

    # when she opens Phone > Access Codes > Voicemail
    alice_page.locator("#phone-rail-button").click()
    alice_page.get_by_role("button", name="Access Codes").click()
    alice_page.get_by_role("menuitem", name="Voicemail").click()
    call = eventually(lambda: Call.objects.filter(caller=alice, dialled="*86").first())

    # then her own mailbox answers, asks for the PIN, and the keypad is open; call handling is off
    calling = window(alice_page, call)
    expect(calling.locator(".call-name")).to_have_text("Voicemail")
    expect(calling.locator(".call-state")).to_have_text("Voicemail")
    expect(calling.locator(".keypad")).to_be_visible()
    for button, reason in (
        ("Hold", "A call in voicemail cannot be put on hold."),
        ("Transfer", "A call in voicemail cannot be transferred."),
        ("Park", "A call in voicemail cannot be parked."),
        ("Switch Device", "A call in voicemail cannot be switched to another device."),
    ):
        expect(calling.get_by_role("button", name=button)).to_be_disabled()
        expect(calling.get_by_role("button", name=button)).to_have_attribute("title", reason)
    assert hears_speech(heard(alice_page, call))

    # when she enters a wrong PIN
    keypad_enter(alice_page, call, "1357#")

    # then it is counted, and she is asked again
    assert wait_for_failures(alice, 1)
    assert menu_step(call) == "pin"
    assert hears_speech(heard(alice_page, call))

    # when she enters the right PIN
    keypad_enter(alice_page, call, f"{PIN}#")

    # then the count is cleared and she is in the main menu, hearing it
    assert wait_for_failures(alice, 0)
    assert eventually(lambda: menu_step(call) == "main", seconds=5)
    assert hears_speech(heard(alice_page, call))
    assert Call.objects.get(pk=call.pk).state == "answered"


def test_five_wrong_pins_over_two_calls_lock_the_mailbox(new_context: Any, browser_with_tone: Any) -> None:
    # given alice's mailbox has a PIN
    (alice, _, _), pages = signed_in(new_context, browser_with_tone, "alice")
    alice_page = pages["alice"]
    voicemail_services.set_pin(user=alice, pin=PIN)

    # when she enters three wrong PINs in one *86 call and hangs up
    first = dial_mailbox(alice_page, alice)
    for failures, wrong in enumerate(("1111", "1357", "9753"), start=1):
        keypad_enter(alice_page, first, f"{wrong}#")
        assert wait_for_failures(alice, failures)
    window(alice_page, first).get_by_role("button", name="Hang up").click()
    assert ends_by_itself(first, seconds=5)
    assert mailbox_of(alice).locked_until is None

    # and two more in a second call
    second = dial_mailbox(alice_page, alice)
    keypad_enter(alice_page, second, "1111#")
    assert wait_for_failures(alice, 4)
    keypad_enter(alice_page, second, "1357#")

    # then the mailbox is locked, and the call ends by itself after saying so
    assert wait_for_failures(alice, 5)
    locked_until = mailbox_of(alice).locked_until
    assert locked_until is not None
    assert ends_by_itself(second, seconds=prompt_seconds("voicemail-locked") + 8)

    # when she calls again with the right PIN
    third = dial_mailbox(alice_page, alice)
    keypad_enter(alice_page, third, f"{PIN}#")

    # then she is refused all the same: the call ends by itself, the lock and the count stay
    assert ends_by_itself(third, seconds=prompt_seconds("voicemail-locked") + 8)
    mailbox = mailbox_of(alice)
    assert (mailbox.failed_pin_attempts, mailbox.locked_until) == (5, locked_until)

    # and the Voicemail view's settings say the mailbox is locked
    alice_page.locator("#voicemail-rail-button").click()
    alice_page.get_by_text("Mailbox settings").click()
    expect(alice_page.locator("#pin-status")).to_contain_text("Your mailbox is locked until")


def test_a_greeting_recorded_by_phone_is_what_callers_hear_through_star_85(
    new_context: Any, browser_with_tone: Any
) -> None:
    # given alice's mailbox has a PIN; alice and bob signed in
    (alice, bob, _), pages = signed_in(new_context, browser_with_tone, "alice", "bob")
    alice_page, bob_page = pages["alice"], pages["bob"]
    voicemail_services.set_pin(user=alice, pin=PIN)

    # when alice dials *86, enters her PIN, and presses 0 (options) then 1 (Unavailable greeting)
    call = dial_mailbox(alice_page, alice)
    keypad_enter(alice_page, call, f"{PIN}#")
    assert eventually(lambda: menu_step(call) == "main", seconds=5)
    keypad_enter(alice_page, call, "0")
    assert eventually(lambda: menu_step(call) == "options", seconds=5)
    keypad_enter(alice_page, call, "1")
    assert eventually(lambda: menu_step(call) == "recording", seconds=5)

    # and lets her tone be recorded after the prompt and the beep, then presses #, then 1 to accept
    alice_page.wait_for_timeout((prompt_seconds("voicemail-record-after-tone") + BEEP_SECONDS + 0.6) * 1000)
    alice_page.wait_for_timeout(4000)
    keypad_enter(alice_page, call, "#")
    pending = voicemail_services.pending_name(call_id=call.pk, kind="unavailable")
    assert eventually(lambda: default_storage.exists(pending), seconds=10)
    keypad_enter(alice_page, call, "1")

    # then it is her Unavailable greeting, made of her tone
    greeting = eventually(lambda: mailbox_of(alice).unavailable_greeting.name, seconds=10)
    assert abs(peak_of_file(greeting) - ALICE_HZ) <= 10
    window(alice_page, call).get_by_role("button", name="Hang up").click()

    # when bob dials *85 and alice's extension
    bob_call = dial_mailbox(bob_page, bob, "*85101")

    # then his window says whose greeting it is, and he hears alice's tone
    expect(window(bob_page, bob_call).locator(".call-state")).to_have_text("Greeting of Alice Tester")
    assert hears_only(heard(bob_page, bob_call), ALICE_HZ)
    assert ends_by_itself(bob_call, seconds=15)

    # and alice's Mailbox settings show the greeting as recorded, with a player
    alice_page.locator("#voicemail-rail-button").click()
    alice_page.get_by_text("Mailbox settings").click()
    recording = alice_page.locator('#recordings [data-kind="unavailable"]')
    expect(recording).to_have_attribute("data-recorded", "true")
    expect(recording.locator("audio")).to_have_attribute("src", re.compile("/greetings/unavailable/"))
