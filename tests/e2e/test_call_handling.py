"""Call handling in real browsers, with audio checked at the right ears: hold with music on hold,
blind, attended and drag-and-drop transfer, park with pickup and ring-back, switch device, a
three-way conference and a PIN-protected room.

Each user is a Chromium whose fake microphone plays its own tone (alice 1200 Hz, bob 800 Hz,
dave 1600 Hz); the music on hold lies below 450 Hz. A page's analyser reports the level at
each of those frequencies on the remote stream, so "hears bob and not alice" is a comparison
of levels, not a packet count. Media only goes to 127.0.0.1.
"""

import re
import time
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_calls import call_from_directory
from tests.e2e.test_wizard_and_presence import open_communicator
from tests.factories import make_organisation, make_user
from toc.accounts import services as account_services
from toc.accounts.models import Organisation, User
from toc.calls.models import Call, CallRecord, ConferenceRoom
from toc.calls.services import create_room

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]

ALICE_HZ, BOB_HZ, DAVE_HZ = 1200, 800, 1600
TONES = [ALICE_HZ, BOB_HZ, DAVE_HZ]
HEARD_DB = 25  # a tone that is heard stands this far above one that is not

LISTEN = """async ([callId, tones]) => {
  let stream = null;
  for (let waited = 0; !stream && waited < 10000; waited += 50) {
    stream = window.toc.softphone.remoteStream(callId);
    if (!stream) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (!stream) return null;
  const context = new AudioContext();
  await context.resume();
  const analyser = context.createAnalyser();
  analyser.fftSize = 8192;
  analyser.smoothingTimeConstant = 0.5;
  context.createMediaStreamSource(stream).connect(analyser);
  const spectrum = new Float32Array(analyser.frequencyBinCount);
  const binOf = (hz) => Math.round(hz * analyser.fftSize / context.sampleRate);
  const loudest = Object.fromEntries(tones.map((hz) => [hz, -200]));
  let low = -200;
  let high = -200;
  const end = performance.now() + 2000;
  await new Promise((resolve) => setTimeout(resolve, 300));
  while (performance.now() < end) {
    analyser.getFloatFrequencyData(spectrum);
    for (const hz of tones) {
      for (let bin = binOf(hz) - 2; bin <= binOf(hz) + 2; bin += 1) loudest[hz] = Math.max(loudest[hz], spectrum[bin]);
    }
    for (let bin = binOf(120); bin <= binOf(450); bin += 1) low = Math.max(low, spectrum[bin]);
    for (let bin = binOf(470); bin < spectrum.length; bin += 1) high = Math.max(high, spectrum[bin]);
    await new Promise((resolve) => setTimeout(resolve, 40));
  }
  const samples = new Float32Array(analyser.fftSize);
  analyser.getFloatTimeDomainData(samples);
  const rms = Math.sqrt(samples.reduce((sum, x) => sum + x * x, 0) / samples.length);
  await context.close();
  return { tones: loudest, low_db: low, high_db: high, rms_dbfs: 20 * Math.log10(rms || 1e-9) };
}"""


def heard(page: Page, call: Call | str) -> dict[str, Any]:
    call_id = call if isinstance(call, str) else str(call.pk)
    result = page.evaluate(LISTEN, [call_id, TONES])
    assert result is not None, "no remote audio in the page"
    result["tones"] = {int(hz): level for hz, level in result["tones"].items()}
    return result


def hears_only(result: dict[str, Any], *expected: int) -> bool:
    """Each expected tone stands HEARD_DB above every tone that should not be there."""
    levels = result["tones"]
    absent = [levels[hz] for hz in TONES if hz not in expected]
    return all(levels[hz] > max(absent) + HEARD_DB for hz in expected)


def hears_music_on_hold(result: dict[str, Any]) -> bool:
    """The tune (all below 450 Hz) and none of the callers' tones (all above)."""
    return result["low_db"] > -75 and result["low_db"] > max(result["tones"].values()) + HEARD_DB


def team(**organisation: Any) -> tuple[Organisation, User, User, User]:
    acme = make_organisation(name="Acme", sso_domain="acme.example")
    for field, value in organisation.items():
        setattr(acme, field, value)
    acme.save()
    people = [
        make_user(acme, name, extension=extension)
        for name, extension in (("alice", "101"), ("bob", "102"), ("dave", "103"))
    ]
    for person in people:
        account_services.complete_profile(user=person, calling_device="softphone", mobile_number="")
    return acme, people[0], people[1], people[2]


def signed_in_team(new_context: Any, browser_with_tone: Any, **organisation: Any) -> Any:
    acme, alice, bob, dave = team(**organisation)
    pages = []
    for user, hz in ((alice, ALICE_HZ), (bob, BOB_HZ), (dave, DAVE_HZ)):
        page = new_context(on=browser_with_tone(hz))
        open_communicator(page, user)
        pages.append(page)
    return acme, (alice, bob, dave), pages


def window(page: Page, call: Call | str) -> Any:
    call_id = call if isinstance(call, str) else str(call.pk)
    return page.locator(f'#call-windows section.call-window[data-call-id="{call_id}"]')


def answer(page: Page) -> None:
    page.locator(".call-toast").get_by_role("button", name="Answer").click()


def eventually(find: Any, seconds: float = 10) -> Any:
    """What `find()` returns once it is truthy (the server commits a moment after the click)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = find()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"nothing found within {seconds} s")


def connected_call(caller_page: Page, callee_page: Page, callee: User) -> Call:
    call_from_directory(caller_page, callee)
    answer(callee_page)
    call = eventually(lambda: Call.objects.filter(state="answered", callee=callee).first())
    expect(window(caller_page, call).locator(".call-state")).to_have_text("Connected")
    expect(window(callee_page, call).locator(".call-state")).to_have_text("Connected")
    return call


def test_hold_plays_music_to_the_held_party_and_only_the_holder_resumes(
    new_context: Any, browser_with_tone: Any
) -> None:
    # given alice talking to bob
    _, (_alice, bob, _), (alice_page, bob_page, _) = signed_in_team(new_context, browser_with_tone)
    call = connected_call(alice_page, bob_page, bob)
    assert hears_only(heard(alice_page, call), BOB_HZ)

    # when bob presses Hold
    window(bob_page, call).get_by_role("button", name="Hold").click()

    # then alice hears the music on hold and not bob; bob hears nothing; alice cannot resume
    expect(window(bob_page, call).locator(".call-state")).to_have_text("On hold")
    expect(window(alice_page, call).locator(".call-state")).to_have_text("Bob Tester put you on hold")
    alice_hears = heard(alice_page, call)
    assert hears_music_on_hold(alice_hears), alice_hears
    bob_hears = heard(bob_page, call)
    assert bob_hears["rms_dbfs"] < -60, bob_hears
    expect(window(alice_page, call).get_by_role("button", name="Hold")).to_be_disabled()

    # when bob presses Resume
    window(bob_page, call).get_by_role("button", name="Resume").click()

    # then they hear each other again
    expect(window(alice_page, call).locator(".call-state")).to_have_text("Connected")
    assert hears_only(heard(alice_page, call), BOB_HZ)
    assert hears_only(heard(bob_page, call), ALICE_HZ)

    # and with the desk phone as his calling device, bob's Hold is not clickable
    bob_page.locator("#phone-rail-button").click()
    bob_page.locator("#calling-device").select_option("deskphone")
    hold = window(bob_page, call).get_by_role("button", name="Hold")
    expect(hold).to_be_disabled()
    expect(hold).to_have_attribute("title", "Hold works only when Softphone is the calling device.")


def test_blind_transfer_from_the_transfer_window(new_context: Any, browser_with_tone: Any) -> None:
    # given alice talking to bob
    _, (_alice, bob, _dave), (alice_page, bob_page, dave_page) = signed_in_team(new_context, browser_with_tone)
    call = connected_call(alice_page, bob_page, bob)

    # when bob opens Transfer, finds dave by name and presses Transfer
    window(bob_page, call).get_by_role("button", name="Transfer").click()
    dialog = bob_page.locator("#transfer-dialog")
    dialog.get_by_label("Name or number").fill("Dave")
    dialog.locator(".transfer-result", has_text="Dave Tester").click()
    expect(dialog.get_by_role("button", name="Voicemail")).to_be_enabled()
    dialog.get_by_role("button", name="Transfer").click()

    # then bob is out of the call, dave's phone rings with the transfer, alice hears ringback
    expect(window(bob_page, call).locator(".call-state")).to_have_text(re.compile("Transferred to Dave Tester"))
    toast = dave_page.locator(".call-toast")
    expect(toast).to_contain_text("Transferred by Bob Tester")
    expect(toast).to_contain_text("Alice Tester")

    # when dave answers, alice and dave hear each other
    answer(dave_page)
    expect(window(alice_page, call).locator(".call-state")).to_have_text("Connected")
    expect(window(alice_page, call).locator(".call-name")).to_have_text("Dave Tester")
    assert hears_only(heard(alice_page, call), DAVE_HZ)
    assert hears_only(heard(dave_page, call), ALICE_HZ)
    assert CallRecord.objects.get(owner=bob).outcome == "transferred"


def test_an_invalid_transfer_target_is_an_error_and_the_call_stays(new_context: Any, browser_with_tone: Any) -> None:
    # given alice talking to bob
    _, (alice, bob, _), (alice_page, bob_page, _) = signed_in_team(new_context, browser_with_tone)
    call = connected_call(alice_page, bob_page, bob)

    # when bob tries to transfer to an extension nobody has
    window(bob_page, call).get_by_role("button", name="Transfer").click()
    dialog = bob_page.locator("#transfer-dialog")
    dialog.get_by_label("Name or number").fill("555")
    dialog.get_by_role("button", name="Transfer").click()

    # then the window says why, and the call goes on as before
    expect(dialog.locator("#transfer-error")).to_have_text("There is no extension 555 in your organisation.")
    dialog.get_by_role("button", name="Cancel").click()
    call.refresh_from_db()
    assert (call.state, call.caller_id, call.callee_id) == ("answered", alice.pk, bob.pk)
    assert hears_only(heard(alice_page, call), BOB_HZ)


def test_attended_transfer_consults_then_completes(new_context: Any, browser_with_tone: Any) -> None:
    # given alice talking to bob
    _, (_alice, bob, _dave), (alice_page, bob_page, dave_page) = signed_in_team(new_context, browser_with_tone)
    call = connected_call(alice_page, bob_page, bob)

    # when bob starts an attended transfer to dave, and dave answers
    window(bob_page, call).get_by_role("button", name="Transfer").click()
    dialog = bob_page.locator("#transfer-dialog")
    dialog.get_by_label("Name or number").fill("103")
    dialog.get_by_role("button", name="Attended").click()
    answer(dave_page)
    consultation = eventually(lambda: Call.objects.filter(consult_for=call, state="answered").first())
    expect(window(bob_page, consultation).locator(".call-state")).to_have_text("Connected")

    # then alice waits with music on hold while bob and dave talk
    assert hears_music_on_hold(heard(alice_page, call))
    assert hears_only(heard(bob_page, consultation), DAVE_HZ)
    assert hears_only(heard(dave_page, consultation), BOB_HZ)

    # when bob completes the transfer
    window(bob_page, consultation).get_by_role("button", name="Complete transfer").click()

    # then alice and dave hear each other, and bob is out of both calls
    expect(window(alice_page, call).locator(".call-name")).to_have_text("Dave Tester")
    expect(window(alice_page, call).locator(".call-state")).to_have_text("Connected")
    expect(window(dave_page, call).locator(".call-state")).to_have_text("Connected")
    assert hears_only(heard(alice_page, call), DAVE_HZ)
    assert hears_only(heard(dave_page, call), ALICE_HZ)
    expect(bob_page.locator("#call-windows section.call-window:not(.over)")).to_have_count(0)


def test_attended_transfer_cancelled_goes_back_to_the_caller(new_context: Any, browser_with_tone: Any) -> None:
    # given bob consulting dave while alice waits on hold
    _, (_, bob, _dave), (alice_page, bob_page, dave_page) = signed_in_team(new_context, browser_with_tone)
    call = connected_call(alice_page, bob_page, bob)
    window(bob_page, call).get_by_role("button", name="Transfer").click()
    dialog = bob_page.locator("#transfer-dialog")
    dialog.get_by_label("Name or number").fill("103")
    dialog.get_by_role("button", name="Attended").click()
    answer(dave_page)
    consultation = eventually(lambda: Call.objects.filter(consult_for=call, state="answered").first())
    expect(window(bob_page, call).locator(".call-state")).to_have_text("On hold")

    # when bob cancels the transfer
    window(bob_page, consultation).get_by_role("button", name="Cancel transfer").click()

    # then dave's call ends, and alice and bob talk again
    expect(dave_page.locator("#call-windows section.call-window:not(.over)")).to_have_count(0)
    expect(window(bob_page, call).locator(".call-state")).to_have_text("Connected")
    assert hears_only(heard(alice_page, call), BOB_HZ)
    assert hears_only(heard(bob_page, call), ALICE_HZ)


def test_drag_and_drop_blind_transfer_onto_a_directory_entry(new_context: Any, browser_with_tone: Any) -> None:
    # given alice talking to bob
    _, (_alice, bob, _dave), (alice_page, bob_page, dave_page) = signed_in_team(new_context, browser_with_tone)
    call = connected_call(alice_page, bob_page, bob)

    # when bob drags alice's picture onto dave in the directory and drops it on Blind (the
    # left of the three options the entry shows while a call hovers over it)
    handle = window(bob_page, call).locator(".drag-handle")
    row = bob_page.locator('#list .entry-row[data-number="103"]')
    box = row.bounding_box()
    assert box is not None
    handle.drag_to(row, target_position={"x": box["width"] / 6, "y": box["height"] / 2})

    # then dave rings, answers, and hears alice (and she him)
    expect(dave_page.locator(".call-toast")).to_contain_text("Transferred by Bob Tester")
    answer(dave_page)
    expect(window(alice_page, call).locator(".call-state")).to_have_text("Connected")
    assert hears_only(heard(alice_page, call), DAVE_HZ)
    assert hears_only(heard(dave_page, call), ALICE_HZ)


def test_park_then_a_colleague_picks_up_from_parked_calls(new_context: Any, browser_with_tone: Any) -> None:
    # given alice talking to bob
    _, (_alice, bob, _dave), (alice_page, bob_page, dave_page) = signed_in_team(new_context, browser_with_tone)
    call = connected_call(alice_page, bob_page, bob)

    # when bob presses Park
    window(bob_page, call).get_by_role("button", name="Park").click()

    # then bob is told the slot, alice hears music on hold, dave sees the call in Parked Calls
    expect(window(bob_page, call).locator(".call-state")).to_have_text(re.compile("Parked at 601"))
    assert hears_music_on_hold(heard(alice_page, call))
    dave_page.locator("#more-button").click()
    dave_page.get_by_role("menuitem", name="Parked Calls").click()
    row = dave_page.locator('#parked-list .parked-row[data-slot="601"]')
    expect(row).to_contain_text("Alice Tester")
    expect(row).to_contain_text("Parked by Bob Tester")

    # when dave picks it up
    row.get_by_role("button", name="Pick up the call parked at 601").click()

    # then alice and dave hear each other and the slot is free again
    expect(window(alice_page, call).locator(".call-state")).to_have_text("Connected")
    assert hears_only(heard(alice_page, call), DAVE_HZ)
    assert hears_only(heard(dave_page, call), ALICE_HZ)
    expect(dave_page.locator("#parked-list")).to_have_text("No calls are parked.")


def test_a_parked_call_nobody_picks_up_rings_back_the_parker(new_context: Any, browser_with_tone: Any) -> None:
    # given a 3 s park timeout, and alice talking to bob
    _, (_alice, bob, _), (alice_page, bob_page, _) = signed_in_team(
        new_context, browser_with_tone, park_timeout_seconds=3
    )
    call = connected_call(alice_page, bob_page, bob)

    # when bob parks the call and nobody picks it up
    window(bob_page, call).get_by_role("button", name="Park").click()
    expect(window(bob_page, call).locator(".call-state")).to_have_text(re.compile("Parked at 601"))

    # then it rings bob again, and answering brings him back to alice
    toast = bob_page.locator(".call-toast")
    expect(toast).to_contain_text("park 601", ignore_case=True, timeout=15_000)
    expect(toast).to_contain_text("Alice Tester")
    answer(bob_page)
    expect(window(alice_page, call).locator(".call-state")).to_have_text("Connected")
    assert hears_only(heard(alice_page, call), BOB_HZ)
    assert hears_only(heard(bob_page, call), ALICE_HZ)


def test_switch_device_moves_the_call_without_dropping_the_other_side(new_context: Any, browser_with_tone: Any) -> None:
    # given bob signed in on two devices, talking to alice on the first
    _, (_alice, bob, _), (alice_page, bob_page, _) = signed_in_team(new_context, browser_with_tone)
    bob_desk = new_context(on=browser_with_tone(BOB_HZ))
    open_communicator(bob_desk, bob)
    call_from_directory(alice_page, bob)
    answer(bob_page)
    call = eventually(lambda: Call.objects.filter(state="answered").first())
    expect(window(bob_page, call).locator(".call-state")).to_have_text("Connected")

    # when bob presses Switch Device and picks the other device, and answers there
    window(bob_page, call).get_by_role("button", name="Switch Device").click()
    window(bob_page, call).locator(".device-menu .menu-item").first.click()
    toast = bob_desk.locator(".call-toast")
    expect(toast).to_contain_text("Switch here from your other device")
    toast.get_by_role("button", name="Answer").click()

    # then the call is on the desk, the first device shows it elsewhere, and alice never dropped
    expect(window(bob_desk, call).locator(".call-state")).to_have_text("Connected")
    expect(bob_page.locator('#call-windows [data-phase="foreign"]')).to_contain_text("On another device")
    call.refresh_from_db()
    assert call.state == "answered"
    assert hears_only(heard(bob_desk, call), ALICE_HZ)
    assert hears_only(heard(alice_page, call), BOB_HZ)


def test_three_way_conference_each_hears_the_two_others_and_not_itself(
    new_context: Any, browser_with_tone: Any
) -> None:
    # given alice talking to bob
    _, (_alice, bob, dave), (alice_page, bob_page, dave_page) = signed_in_team(new_context, browser_with_tone)
    call = connected_call(alice_page, bob_page, bob)

    # when bob invites dave and dave answers
    window(bob_page, call).get_by_role("button", name="Invite").click()
    dialog = bob_page.locator("#transfer-dialog")
    dialog.get_by_label("Name or number").fill("103")
    dialog.get_by_role("button", name="Invite").click()
    expect(dave_page.locator(".call-toast")).to_contain_text("Bob Tester invites you to a conference")
    answer(dave_page)
    invite = eventually(lambda: Call.objects.filter(callee=dave, state="answered").first())

    # then all three are listed, and each hears the two others and not itself
    for page, own in ((alice_page, call), (bob_page, call), (dave_page, invite)):
        expect(window(page, own).locator(".participant")).to_have_count(3)
    assert hears_only(heard(alice_page, call), BOB_HZ, DAVE_HZ)
    assert hears_only(heard(bob_page, call), ALICE_HZ, DAVE_HZ)
    assert hears_only(heard(dave_page, invite), ALICE_HZ, BOB_HZ)

    # when bob steps out with Hold, alice and dave go on without him; Resume brings him back
    window(bob_page, call).get_by_role("button", name="Hold").click()
    expect(window(alice_page, call).locator(".participant", has_text="Bob Tester")).to_contain_text("on hold")
    assert hears_only(heard(alice_page, call), DAVE_HZ)
    assert heard(bob_page, call)["rms_dbfs"] < -60
    window(bob_page, call).get_by_role("button", name="Resume").click()
    expect(window(alice_page, call).locator(".participant", has_text="Bob Tester")).not_to_contain_text("on hold")
    assert hears_only(heard(alice_page, call), BOB_HZ, DAVE_HZ)

    # when bob leaves, alice and dave go on
    window(bob_page, call).get_by_role("button", name="Hang up").click()
    expect(window(alice_page, call).locator(".participant")).to_have_count(2)
    assert hears_only(heard(alice_page, call), DAVE_HZ)


def test_dragging_a_colleague_into_the_call_window_invites_them(new_context: Any, browser_with_tone: Any) -> None:
    # given alice talking to bob
    _, (_, bob, _dave), (alice_page, bob_page, dave_page) = signed_in_team(new_context, browser_with_tone)
    call = connected_call(alice_page, bob_page, bob)

    # when bob drags dave's directory entry into the call window
    bob_page.locator('#list .entry-row[data-number="103"]').drag_to(window(bob_page, call))

    # then dave is rung into the call, now a conference, and joins it
    expect(dave_page.locator(".call-toast")).to_contain_text("Bob Tester invites you to a conference")
    expect(window(bob_page, call).locator(".participant.ringing")).to_contain_text("Dave Tester")
    answer(dave_page)
    expect(window(alice_page, call).locator(".participant")).to_have_count(3)
    expect(window(alice_page, call).locator(".call-name")).to_have_text("Instant conference")


def test_a_room_with_a_pin_refuses_a_wrong_pin_and_admits_the_right_one(
    new_context: Any, browser_with_tone: Any
) -> None:
    # given a room 701 with PIN 2468, with bob already in it
    acme, (alice, bob, _), (alice_page, bob_page, _) = signed_in_team(new_context, browser_with_tone)
    create_room(organisation_id=acme.pk, name="Board room", extension="701", owner=bob, pin="2468")
    bob_page.locator("#conference-rail-button").click()
    bob_page.locator("#conference-room").select_option(label="Board room (701)")
    bob_page.get_by_role("button", name="Join").click()
    bob_call = eventually(lambda: Call.objects.filter(caller=bob).first())
    keypad_enter(bob_page, bob_call, "2468#")
    expect(window(bob_page, bob_call).locator(".call-state")).to_have_text("Connected")
    bob_page.wait_for_timeout(2600)  # "You are the only person in this conference." has played

    # when alice dials 701 and enters a wrong PIN
    alice_page.locator("#phone-rail-button").click()
    alice_page.locator("#dial-input").fill("701")
    alice_page.locator("#call-button").click()
    alice_call = eventually(lambda: Call.objects.filter(caller=alice).first())
    expect(window(alice_page, alice_call).locator(".call-state")).to_have_text(re.compile("Enter the room’s PIN"))
    keypad_enter(alice_page, alice_call, "1111#")

    # then she is still outside: bob does not hear her
    assert wait_for_attempts(alice_call, 1)
    assert heard(bob_page, bob_call)["tones"][ALICE_HZ] < -80

    # when she enters the right PIN, she is in and they hear each other
    keypad_enter(alice_page, alice_call, "2468#")
    expect(window(alice_page, alice_call).locator(".participant")).to_have_count(2)
    assert hears_only(heard(bob_page, bob_call), ALICE_HZ)
    assert hears_only(heard(alice_page, alice_call), BOB_HZ)
    assert ConferenceRoom.objects.get().pin_hash != "2468"


def keypad_enter(page: Page, call: Call, keys: str) -> None:
    keypad = window(page, call).locator(".keypad")
    if keypad.is_hidden():
        window(page, call).get_by_role("button", name="Keypad").click()
    for key in keys:
        keypad.locator(f'[data-key="{key}"]').click()


def wait_for_attempts(call: Call, attempts: int) -> bool:
    return bool(eventually(lambda: Call.objects.get(pk=call.pk).pin_attempts == attempts, seconds=5))
