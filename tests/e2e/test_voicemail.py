"""Voicemail in real browsers, with audio checked at the right ears: leaving a message when
nobody answers, transfer to someone's voicemail, and the Voicemail view (play a message, save,
delete, call back). The mailbox menu (*86, *85) is test_voicemail_menu.py.

As in test_call_handling, each user is a Chromium whose fake microphone plays its own tone
(alice 1200 Hz, bob 800 Hz, dave 1600 Hz). The voice prompts are speech, below and between
those tones; "hears prompts" is a level, "hears alice" is her tone standing above the others.
"""

import re
import time
import wave
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from playwright.sync_api import Page, expect

from tests.audio import peaks
from tests.e2e.conftest import off_the_browser_thread, screenshot, write_tone
from tests.e2e.test_call_handling import (
    ALICE_HZ,
    BOB_HZ,
    DAVE_HZ,
    TONES,
    connected_call,
    eventually,
    heard,
    keypad_enter,
    team,
    window,
)
from tests.e2e.test_calls import call_from_directory
from tests.e2e.test_wizard_and_presence import open_communicator
from toc.accounts.models import User
from toc.calls.models import Call
from toc.media.tracks import load_audio_file
from toc.voicemail import services as voicemail_services
from toc.voicemail.models import VoicemailCall, VoicemailMessage

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

BEEP_SECONDS = 0.6  # the 1 kHz "record after the tone" beep, with its gap
PROMPTS = Path(settings.BASE_DIR) / "static" / "prompts"
SPEECH_DB = -60  # the voice prompts reach above this level; the silent line stays far below

# Plays the message's <audio> element (as its play button does) through an analyser: the level
# at each tone, as LISTEN does for a call, and where a seek to 1 s landed.
LISTEN_TO_PLAYER = """async ([selector, tones]) => {
  const audio = document.querySelector(selector);
  if (!audio) return null;
  const context = new AudioContext();
  await context.resume();
  const analyser = context.createAnalyser();
  analyser.fftSize = 8192;
  analyser.smoothingTimeConstant = 0.5;
  context.createMediaElementSource(audio).connect(analyser);
  await audio.play();
  const spectrum = new Float32Array(analyser.frequencyBinCount);
  const binOf = (hz) => Math.round(hz * analyser.fftSize / context.sampleRate);
  const loudest = Object.fromEntries(tones.map((hz) => [hz, -200]));
  const end = performance.now() + 1500;
  await new Promise((resolve) => setTimeout(resolve, 300));
  while (performance.now() < end) {
    analyser.getFloatFrequencyData(spectrum);
    for (const hz of tones) {
      for (let bin = binOf(hz) - 2; bin <= binOf(hz) + 2; bin += 1) loudest[hz] = Math.max(loudest[hz], spectrum[bin]);
    }
    await new Promise((resolve) => setTimeout(resolve, 40));
  }
  const seeked = new Promise((resolve) => {
    audio.addEventListener('seeked', resolve, { once: true });
    setTimeout(resolve, 3000);
  });
  audio.currentTime = 1;
  await seeked;
  const seekedTo = audio.currentTime;
  audio.pause();
  await context.close();
  return { tones: loudest, duration: audio.duration, seeked_to: seekedTo };
}"""


# --- helpers -------------------------------------------------------------------------------------


def prompt_seconds(*names: str) -> float:
    """How long the recorded voice prompts take to say."""
    total = 0.0
    for name in names:
        with wave.open(str(PROMPTS / f"{name}.wav")) as prompt:
            total += prompt.getnframes() / prompt.getframerate()
    return total


def default_greeting_seconds(extension: str) -> float:
    digits = [f"digit-{digit}" for digit in extension]
    return prompt_seconds("voicemail-the-person-at", *digits, "voicemail-is-not-available") + BEEP_SECONDS


def signed_in(new_context: Any, browser_with_tone: Any, *who: str, **organisation: Any) -> Any:
    """Acme's alice, bob and dave; pages (with their tones) for those named in `who`."""
    _, alice, bob, dave = team(**organisation)
    people = {"alice": (alice, ALICE_HZ), "bob": (bob, BOB_HZ), "dave": (dave, DAVE_HZ)}
    pages = {}
    for name in who:
        user, hz = people[name]
        pages[name] = new_context(on=browser_with_tone(hz))
        open_communicator(pages[name], user)
    return (alice, bob, dave), pages


def hears_speech(result: dict[str, Any]) -> bool:
    return max(result["low_db"], result["high_db"]) > SPEECH_DB


def peak_of_file(name: str | None) -> float:
    """The strongest frequency of a recording in the storage."""
    assert name, "no recording"
    return peaks(load_audio_file(Path(default_storage.path(name))), 1)[0]


def dial(page: Page, number: str) -> None:
    page.locator("#phone-rail-button").click()
    page.locator("#dial-input").fill(number)
    page.locator("#call-button").click()


def ends_by_itself(call: Call, seconds: float = 15) -> bool:
    return bool(eventually(lambda: Call.objects.get(pk=call.pk).state == "ended", seconds=seconds))


def deposit_call(callee: User) -> Call:
    """The call that reached `callee`'s voicemail (the callee has left it)."""
    session = eventually(
        lambda: VoicemailCall.objects.filter(mailbox__user=callee, kind="deposit").select_related("call").first(),
        seconds=15,
    )
    return session.call


def leave_tone(page: Page, call: Call, greeting_seconds: float, *, record_seconds: float = 3.0) -> None:
    """Check the caller hears the greeting, wait it out with the beep, then let the caller's tone
    be recorded for `record_seconds`."""
    started = time.monotonic()
    greeting = heard(page, call)
    assert hears_speech(greeting), greeting
    left = started + greeting_seconds + 0.8 - time.monotonic()
    if left > 0:
        page.wait_for_timeout(left * 1000)
    page.wait_for_timeout(record_seconds * 1000)


def store_message(owner: User, caller: User, hz: int, folder: Path) -> VoicemailMessage:
    wav = folder / f"{caller.first_name}-{hz}.wav"
    write_tone(wav, hz, seconds=3)
    message = off_the_browser_thread(
        voicemail_services.store_message,
        mailbox=voicemail_services.get_mailbox(user=owner),
        recording=wav,
        caller_name=caller.display_name,
        caller_number=caller.extension,
        caller=caller,
    )
    assert message is not None
    return message


def message_row(page: Page, name: str, folder: str = "new") -> Any:
    return page.locator(f"#voicemail-{folder}-list .voicemail-row", has_text=name)


# --- leaving a message ---------------------------------------------------------------------------


def test_an_unanswered_call_leaves_a_message_that_the_callee_plays(new_context: Any, browser_with_tone: Any) -> None:
    # given a 3 s ring timeout, alice and bob signed in, bob with no messages
    (alice, bob, _), pages = signed_in(new_context, browser_with_tone, "alice", "bob", ring_timeout_seconds=3)
    alice_page, bob_page = pages["alice"], pages["bob"]
    expect(bob_page.locator("#voicemail-badge")).to_be_hidden()

    # when alice calls bob and he does not answer
    call_from_directory(alice_page, bob)
    expect(bob_page.locator(".call-toast")).to_contain_text("Alice Tester")
    call = deposit_call(bob)

    # then alice's window says where she is, and she hears bob's greeting; after the beep her
    # tone is recorded until she presses #
    state = window(alice_page, call).locator(".call-state")
    expect(state).to_have_text("Voicemail: leaving a message for Bob Tester")
    expect(window(alice_page, call).get_by_role("button", name="Hold")).to_be_disabled()
    expect(bob_page.locator(".call-toast")).to_have_count(0)
    leave_tone(alice_page, call, default_greeting_seconds("102"))
    keypad_enter(alice_page, call, "#")

    # then the message is kept, alice hears "saved, goodbye" and the mailbox hangs up
    message = eventually(lambda: VoicemailMessage.objects.filter(mailbox__user=bob).first(), seconds=10)
    assert (message.folder, message.caller_name, message.caller_id) == ("new", "Alice Tester", alice.pk)
    assert 2 <= message.duration_seconds <= 6, message.duration_seconds
    assert abs(peak_of_file(message.audio.name) - ALICE_HZ) <= 10
    assert ends_by_itself(call)

    # and bob's badge shows the new message, live; his Voicemail view lists it
    badge = bob_page.locator("#voicemail-badge")
    expect(badge).to_have_text("1")
    expect(badge).to_have_attribute("aria-label", "1 new voicemail message")
    bob_page.locator("#voicemail-rail-button").click()
    row = message_row(bob_page, "Alice Tester")
    expect(row).to_contain_text("101")
    expect(row.locator(".voicemail-duration")).to_have_text(re.compile(r"^0:0[2-6]$"))

    # when bob clicks the message and plays it
    row.locator(".voicemail-entry").click()
    player = row.locator("audio.voicemail-player")
    expect(player).to_be_visible()
    expect(player).to_have_attribute("preload", "none")
    screenshot(bob_page, "voicemail-message-selected")
    result = bob_page.evaluate(LISTEN_TO_PLAYER, ["#voicemail-view audio.voicemail-player", TONES])

    # then he hears alice's tone, and seeking works
    assert result is not None
    levels = {int(hz): level for hz, level in result["tones"].items()}
    assert levels[ALICE_HZ] > -50, result
    assert levels[ALICE_HZ] > max(levels[BOB_HZ], levels[DAVE_HZ]) + 25, result
    assert abs(result["seeked_to"] - 1) < 0.2, result


def test_transfer_to_voicemail_from_the_transfer_window(new_context: Any, browser_with_tone: Any) -> None:
    # given alice talking to bob, and dave (another user) with no messages
    (alice, bob, dave), pages = signed_in(new_context, browser_with_tone, "alice", "bob", "dave")
    alice_page, bob_page, dave_page = pages["alice"], pages["bob"], pages["dave"]
    call = connected_call(alice_page, bob_page, bob)

    # when bob opens Transfer: a number that is not a user cannot take Voicemail, dave can
    window(bob_page, call).get_by_role("button", name="Transfer").click()
    dialog = bob_page.locator("#transfer-dialog")
    voicemail_button = dialog.get_by_role("button", name="Voicemail")
    dialog.get_by_label("Name or number").fill("6135550142")
    expect(voicemail_button).to_be_disabled()
    expect(voicemail_button).to_have_attribute("title", "Voicemail transfer works only to users of the system.")
    dialog.get_by_label("Name or number").fill("Dave")
    dialog.locator(".transfer-result", has_text="Dave Tester").click()
    expect(voicemail_button).to_be_enabled()
    expect(dialog.locator("#transfer-voicemail-note")).to_have_text(
        "Voicemail: Alice Tester leaves a message for Dave Tester."
    )
    voicemail_button.click()

    # then bob is out of the call, and alice is at dave's voicemail (his phone never rang)
    expect(dialog).to_be_hidden()
    expect(window(bob_page, call).locator(".call-state")).to_have_text(
        "Call ended: Transferred to the voicemail of Dave Tester (103)."
    )
    expect(window(alice_page, call).locator(".call-state")).to_have_text("Voicemail: leaving a message for Dave Tester")
    expect(dave_page.locator(".call-toast")).to_have_count(0)

    # when alice hears dave's greeting, leaves her tone after the beep and hangs up
    leave_tone(alice_page, call, default_greeting_seconds("103"))
    window(alice_page, call).get_by_role("button", name="Hang up").click()

    # then dave has the message, with alice's voice in it, and his badge says so
    message = eventually(lambda: VoicemailMessage.objects.filter(mailbox__user=dave).first(), seconds=10)
    assert (message.caller_id, message.caller_name) == (alice.pk, "Alice Tester")
    assert abs(peak_of_file(message.audio.name) - ALICE_HZ) <= 10
    assert not VoicemailMessage.objects.filter(mailbox__user=bob).exists()
    expect(dave_page.locator("#voicemail-badge")).to_have_text("1")
    dave_page.keyboard.press("Alt+5")
    expect(message_row(dave_page, "Alice Tester")).to_be_visible()


# --- the Voicemail view --------------------------------------------------------------------------


def test_save_delete_and_call_back_from_the_message_menu_live_in_every_window(
    new_context: Any, browser_with_tone: Any, tmp_path: Path
) -> None:
    # given alice has new messages from bob and dave, and bob has one from dave
    (alice, bob, dave), pages = signed_in(new_context, browser_with_tone, "alice")
    alice_page = pages["alice"]
    from_bob = store_message(alice, bob, BOB_HZ, tmp_path)
    from_dave = store_message(alice, dave, DAVE_HZ, tmp_path)
    bobs_own = store_message(bob, dave, DAVE_HZ, tmp_path)
    other_window = new_context(on=browser_with_tone(ALICE_HZ))
    open_communicator(other_window, alice)
    for page in (alice_page, other_window):
        expect(page.locator("#voicemail-badge")).to_have_attribute("aria-label", "2 new voicemail messages")
        page.keyboard.press("Alt+5")
        expect(page.locator("#voicemail-new-list .voicemail-row")).to_have_count(2)
    expect(alice_page.locator("#voicemail-old-list")).to_have_text("No old messages.")
    screenshot(alice_page, "voicemail-view")

    # when alice right-clicks bob's message and chooses Save to old messages
    message_row(alice_page, "Bob Tester").click(button="right")
    menu = alice_page.get_by_role("menu", name="Message actions")
    expect(menu).to_be_visible()
    menu.get_by_role("menuitem", name="Save to old messages").click()

    # then it moves to Old messages, here and in her other window, and the badge counts one
    for page in (alice_page, other_window):
        expect(message_row(page, "Bob Tester", "old")).to_be_visible()
        expect(message_row(page, "Bob Tester", "new")).to_have_count(0)
        expect(page.locator("#voicemail-badge")).to_have_text("1")
    assert VoicemailMessage.objects.get(pk=from_bob.pk).folder == "old"

    # when she opens dave's message's menu from the keyboard (Shift+F10) and presses Escape
    entry = message_row(alice_page, "Dave Tester").locator(".voicemail-entry")
    entry.focus()
    alice_page.keyboard.press("Shift+F10")
    expect(menu).to_be_visible()
    expect(menu.get_by_role("menuitem").first).to_be_focused()
    alice_page.keyboard.press("Escape")

    # then the menu closes and focus is back on the message
    expect(menu).to_be_hidden()
    expect(entry).to_be_focused()

    # when she deletes it with the menu's keyboard (Down to Delete, Enter)
    alice_page.keyboard.press("ContextMenu")
    expect(menu).to_be_visible()
    alice_page.keyboard.press("ArrowDown")
    expect(menu.get_by_role("menuitem", name="Delete")).to_be_focused()
    alice_page.keyboard.press("Enter")

    # then it is gone everywhere, and the folder says it is empty
    for page in (alice_page, other_window):
        expect(page.locator("#voicemail-new-list")).to_have_text("No new messages.")
        expect(page.locator("#voicemail-badge")).to_be_hidden()
    assert not VoicemailMessage.objects.filter(pk=from_dave.pk).exists()

    # and another user's message cannot be fetched from alice's page
    statuses = alice_page.evaluate(
        "async (urls) => Promise.all(urls.map(async (url) => (await fetch(url)).status))",
        [f"/api/voicemail/messages/{bobs_own.pk}/audio/", f"/api/voicemail/messages/{from_bob.pk}/audio/"],
    )
    assert statuses == [404, 200]

    # when a new message arrives while she looks at the view
    store_message(alice, dave, DAVE_HZ, tmp_path)

    # then it shows at once, in every window
    for page in (alice_page, other_window):
        expect(message_row(page, "Dave Tester")).to_be_visible()
        expect(page.locator("#voicemail-badge")).to_have_text("1")

    # when she selects the old message and uses its More actions button to call bob back
    old_row = message_row(alice_page, "Bob Tester", "old")
    old_row.locator(".voicemail-entry").click()
    old_row.get_by_role("button", name="More actions").click()
    expect(menu.get_by_role("menuitem", name="Save to old messages")).to_have_count(0)
    menu.get_by_role("menuitem", name="Call back").click()

    # then the softphone calls bob's extension; he is not signed in, so it is his voicemail
    call = eventually(lambda: Call.objects.filter(caller=alice, dialled="102").first())
    calling = window(alice_page, call)
    expect(calling.locator(".call-state")).to_have_text("Voicemail: leaving a message for Bob Tester")
    expect(calling.get_by_role("button", name="Invite")).to_be_disabled()
    calling.get_by_role("button", name="Hang up").click()
    assert ends_by_itself(call, seconds=5)
