"""Softphone calls in real browsers: two users in two Chromiums whose fake microphones play
different tones, through the real server, Celery worker and media worker.

Audio is checked by frequency and level: in each page with a WebAudio analyser on the remote
stream (which the softphone also plays through an <audio> element), and at the media engine
from its own per-leg analysis. Media only goes to 127.0.0.1 (loopback ICE on both sides).
"""

import re
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import CHROMIUM_ARGS, Server, launch, off_the_browser_thread, screenshot
from tests.e2e.test_wizard_and_presence import open_communicator
from tests.factories import make_organisation, make_user
from toc.accounts import services as account_services
from toc.accounts.models import Organisation, User
from toc.calls.models import Call, CallRecord, Leg
from toc.media.models import MediaWorker

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

ALICE_HZ = 1200
BOB_HZ = 800

HEAR_REMOTE = """async (callId) => {
  // The far end's track arrives once the media connects, a moment after the call shows answered.
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
  context.createMediaStreamSource(stream).connect(analyser);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const spectrum = new Float32Array(analyser.frequencyBinCount);
  analyser.getFloatFrequencyData(spectrum);
  let peak = 0;
  spectrum.forEach((value, index) => { if (value > spectrum[peak]) peak = index; });
  const samples = new Float32Array(analyser.fftSize);
  analyser.getFloatTimeDomainData(samples);
  const rms = Math.sqrt(samples.reduce((sum, x) => sum + x * x, 0) / samples.length);
  const state = context.state;
  await context.close();
  return { peak_hz: peak * context.sampleRate / analyser.fftSize, rms_dbfs: 20 * Math.log10(rms || 1e-9), state };
}"""


# Starts listening on the remote stream and keeps, per frequency, the loudest level seen in
# any 20 ms look at the spectrum: short DTMF tones show up there.
LISTEN_FOR_TONES = """(callId) => {
  const stream = window.toc.softphone.remoteStream(callId);
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  analyser.fftSize = 4096;
  analyser.smoothingTimeConstant = 0;
  context.createMediaStreamSource(stream).connect(analyser);
  const spectrum = new Float32Array(analyser.frequencyBinCount);
  const level = (hz) => spectrum[Math.round(hz * analyser.fftSize / context.sampleRate)];
  const loudest = { 770: -200, 1336: -200 };
  const listening = (async () => {
    const end = performance.now() + 2500;
    while (performance.now() < end) {
      analyser.getFloatFrequencyData(spectrum);
      for (const hz of [770, 1336]) loudest[hz] = Math.max(loudest[hz], level(hz));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await context.close();
    return loudest;
  })();
  window.tonesHeard = listening;
}"""


def colleagues(ring_timeout_seconds: int = 20) -> tuple[Organisation, User, User]:
    acme = make_organisation(name="Acme", sso_domain="acme.example")
    acme.ring_timeout_seconds = ring_timeout_seconds
    acme.save()
    alice = make_user(acme, "alice", extension="101")
    bob = make_user(acme, "bob", extension="102")
    for user in (alice, bob):
        account_services.complete_profile(user=user, calling_device="softphone", mobile_number="")
    return acme, alice, bob


def call_from_directory(page: Page, callee: User) -> None:
    page.get_by_role("button", name=f"Call {callee.display_name}").first.click()


def call_window(page: Page) -> Any:
    return page.locator("#call-windows section.call-window").last


def engine_stats(leg_ids: list[str]) -> dict[str, Any]:
    """Ask the media worker that owns the legs for its own analysis of what it receives."""
    worker = MediaWorker.objects.get()

    async def ask() -> dict[str, Any]:
        layer = get_channel_layer()
        reply_channel = await layer.new_channel()
        await layer.send(
            worker.channel_name, {"type": "media.stats", "leg_ids": leg_ids, "reply_channel": reply_channel}
        )
        reply = await layer.receive(reply_channel)
        return dict(reply["stats"])

    return async_to_sync(ask)()


def history_rows(page: Page) -> Any:
    page.locator("#phone-rail-button").click()
    return page.locator("#history-list li.history-row")


def signed_in_pair(new_context: Any, alice_on: Browser | None = None, bob_on: Browser | None = None, **org: Any) -> Any:
    """Alice and bob, colleagues, each signed in to the communicator in a page of their own."""
    _, alice, bob = colleagues(**org)
    alice_page: Page = new_context(on=alice_on)
    bob_page: Page = new_context(on=bob_on)
    open_communicator(alice_page, alice)
    open_communicator(bob_page, bob)
    return alice, bob, alice_page, bob_page


def in_a_call(alice_page: Page, bob_page: Page, bob: User) -> Call:
    """Alice calls bob from the directory and he answers; returns the call once connected."""
    call_from_directory(alice_page, bob)
    bob_page.locator(".call-toast").get_by_role("button", name="Answer").click()
    expect(call_window(alice_page).locator(".call-state")).to_have_text("Connected")
    expect(call_window(bob_page).locator(".call-state")).to_have_text("Connected")
    return Call.objects.get()


def test_a_call_between_two_browsers_both_hear_each_other_and_both_histories_show_it(
    new_context: Any, browser_with_tone: Any
) -> None:
    # given alice (a 1200 Hz microphone) and bob (800 Hz) signed in
    _, bob, alice_page, bob_page = signed_in_pair(new_context, browser_with_tone(ALICE_HZ), browser_with_tone(BOB_HZ))

    # when alice clicks the phone icon beside bob in the directory
    call_from_directory(alice_page, bob)

    # then bob's page rings with alice's name and number, and alice sees it ringing
    toast = bob_page.locator(".call-toast")
    expect(toast).to_contain_text("Alice Tester")
    expect(toast).to_contain_text("101")
    expect(call_window(alice_page).locator(".call-state")).to_have_text(re.compile("Ringing"))
    screenshot(bob_page, "call-incoming")

    # when bob answers
    toast.get_by_role("button", name="Answer").click()

    # then both are connected, and each hears the other's tone
    expect(call_window(alice_page).locator(".call-state")).to_have_text("Connected")
    expect(call_window(bob_page).locator(".call-state")).to_have_text("Connected")
    call = Call.objects.get()
    alice_hears = alice_page.evaluate(HEAR_REMOTE, str(call.pk))
    bob_hears = bob_page.evaluate(HEAR_REMOTE, str(call.pk))
    assert alice_hears["peak_hz"] == pytest.approx(BOB_HZ, abs=10)
    assert bob_hears["peak_hz"] == pytest.approx(ALICE_HZ, abs=10)
    assert alice_hears["rms_dbfs"] > -30
    assert bob_hears["rms_dbfs"] > -30
    # and the engine hears both microphones
    legs = {leg.party: str(leg.pk) for leg in Leg.objects.filter(call=call)}
    stats = off_the_browser_thread(engine_stats, leg_ids=[legs["caller"], legs["callee"]])
    assert stats[legs["caller"]]["peak_hz"] == pytest.approx(ALICE_HZ, abs=10)
    assert stats[legs["callee"]]["peak_hz"] == pytest.approx(BOB_HZ, abs=10)
    assert stats[legs["caller"]]["rms_dbfs"] > -30
    screenshot(alice_page, "call-connected")

    # when alice presses 5 on the Phone view's dial pad during the call
    bob_page.evaluate(LISTEN_FOR_TONES, str(call.pk))
    quiet = bob_page.evaluate("() => window.tonesHeard")
    bob_page.evaluate(LISTEN_FOR_TONES, str(call.pk))
    alice_page.locator("#phone-rail-button").click()
    alice_page.locator('#dial-pad [data-key="5"]').click()
    keyed = bob_page.evaluate("() => window.tonesHeard")

    # then bob hears its DTMF pair (770 + 1336 Hz) well above what was there before
    assert keyed["770"] > quiet["770"] + 20
    assert keyed["1336"] > quiet["1336"] + 20
    expect(alice_page.locator("#dial-input")).to_have_value("")

    # when alice hangs up
    call_window(alice_page).get_by_role("button", name="Hang up").click()

    # then the call ends for both, and both histories show it with its duration
    expect(bob_page.locator("#call-windows .call-state")).to_have_text(re.compile("Call ended"))
    call.refresh_from_db()
    assert (call.state, call.end_reason) == ("ended", "completed")
    alice_rows = history_rows(alice_page)
    expect(alice_rows).to_have_count(1)
    expect(alice_rows.first).to_have_attribute("data-direction", "outgoing")
    expect(alice_rows.first).to_contain_text("Bob Tester")
    expect(alice_rows.first.locator(".history-duration")).to_have_text(re.compile(r"^0:\d\d$"))
    bob_rows = history_rows(bob_page)
    expect(bob_rows).to_have_count(1)
    expect(bob_rows.first).to_have_attribute("data-direction", "incoming")
    assert Leg.objects.exclude(state="ended").count() == 0


def test_a_silent_microphone_is_heard_as_silence(new_context: Any, browser_with_tone: Any) -> None:
    # given the negative control: alice's microphone is silent, bob's plays 800 Hz
    _, bob, alice_page, bob_page = signed_in_pair(new_context, browser_with_tone(0), browser_with_tone(BOB_HZ))

    # when they are in a call
    call = in_a_call(alice_page, bob_page, bob)

    # then bob hears silence, though the call is up and alice hears bob
    assert bob_page.evaluate(HEAR_REMOTE, str(call.pk))["rms_dbfs"] < -60
    assert alice_page.evaluate(HEAR_REMOTE, str(call.pk))["peak_hz"] == pytest.approx(BOB_HZ, abs=10)
    caller_leg = str(Leg.objects.get(call=call, party="caller").pk)
    assert off_the_browser_thread(engine_stats, leg_ids=[caller_leg])[caller_leg]["rms_dbfs"] < -60


def test_a_call_survives_a_restart_of_the_web_process(
    new_context: Any, browser_with_tone: Any, e2e_server: Server, settings: Any
) -> None:
    # given alice and bob in a call
    _, bob, alice_page, bob_page = signed_in_pair(new_context, browser_with_tone(ALICE_HZ), browser_with_tone(BOB_HZ))
    call = in_a_call(alice_page, bob_page, bob)

    # when the web process restarts under them (a deploy): both sockets drop and come back
    e2e_server.stop("web")
    expect(alice_page.locator("body")).to_have_attribute("data-connected", "false")
    e2e_server.start("web")
    e2e_server.wait_until_up()
    expect(alice_page.locator("body")).to_have_attribute("data-connected", "true", timeout=30_000)
    expect(bob_page.locator("body")).to_have_attribute("data-connected", "true", timeout=30_000)

    # then, past the reconnect grace time, the call is still up and both still hear each other
    alice_page.wait_for_timeout((settings.CALL_RECONNECT_GRACE_SECONDS + 2) * 1000)
    call.refresh_from_db()
    assert call.state == "answered"
    assert Leg.objects.filter(call=call, detached_at__isnull=False).count() == 0
    expect(call_window(alice_page).locator(".call-state")).to_have_text("Connected")
    alice_hears = alice_page.evaluate(HEAR_REMOTE, str(call.pk))
    bob_hears = bob_page.evaluate(HEAR_REMOTE, str(call.pk))
    print(
        "after restart",
        alice_hears,
        bob_hears,
        off_the_browser_thread(engine_stats, leg_ids=[str(leg.pk) for leg in Leg.objects.filter(call=call)]),
    )
    assert alice_hears["peak_hz"] == pytest.approx(BOB_HZ, abs=10)
    assert bob_hears["peak_hz"] == pytest.approx(ALICE_HZ, abs=10)

    # and hanging up still works through the new sockets
    call_window(bob_page).get_by_role("button", name="Hang up").click()
    expect(alice_page.locator("#call-windows .call-state")).to_have_text(re.compile("Call ended"))


def test_the_callee_declines_and_the_caller_reaches_voicemail(new_context: Any) -> None:
    # given
    _, bob, alice_page, bob_page = signed_in_pair(new_context)
    call_from_directory(alice_page, bob)

    # when
    bob_page.locator(".call-toast").get_by_role("button", name="Decline").click()

    # then alice is in bob's voicemail, bob's toast is gone, and his history says so
    expect(call_window(alice_page).locator(".call-state")).to_have_text(
        re.compile("Voicemail: leaving a message for Bob Tester")
    )
    expect(bob_page.locator(".call-toast")).to_have_count(0)
    call_window(alice_page).get_by_role("button", name="Hang up").click()
    expect(alice_page.locator("#call-windows .call-state")).to_have_text(re.compile("Call ended"))
    assert Call.objects.get().end_reason == "completed"
    assert set(CallRecord.objects.values_list("direction", "outcome", "note")) == {
        ("outgoing", "completed", ""),
        ("incoming", "voicemail", "Sent to voicemail."),
    }


def test_no_answer_within_the_ring_timeout_is_a_missed_call_and_goes_to_voicemail(new_context: Any) -> None:
    # given a 3 s ring timeout
    _, bob, alice_page, bob_page = signed_in_pair(new_context, ring_timeout_seconds=3)

    # when alice calls and nobody answers
    call_from_directory(alice_page, bob)
    expect(bob_page.locator(".call-toast")).to_be_visible()

    # then at the ring timeout alice reaches bob's voicemail, and bob sees a missed call
    expect(call_window(alice_page).locator(".call-state")).to_have_text(
        re.compile("Voicemail: leaving a message for Bob Tester"), timeout=10_000
    )
    expect(bob_page.locator(".call-toast")).to_have_count(0)
    expect(bob_page.locator("#missed-badge")).to_have_text("1")
    rows = history_rows(bob_page)
    expect(rows.first).to_have_attribute("data-direction", "missed")
    expect(bob_page.locator("#missed-badge")).to_be_hidden()
    assert CallRecord.objects.get(owner=bob).outcome == "voicemail"


def test_the_caller_cancels_before_the_answer(new_context: Any) -> None:
    # given
    _, bob, alice_page, bob_page = signed_in_pair(new_context)
    call_from_directory(alice_page, bob)
    expect(bob_page.locator(".call-toast")).to_be_visible()

    # when
    call_window(alice_page).get_by_role("button", name="Hang up").click()

    # then
    expect(bob_page.locator(".call-toast")).to_have_count(0)
    assert Call.objects.get().end_reason == "cancelled"
    expect(history_rows(bob_page).first).to_have_attribute("data-direction", "missed")


def test_every_session_of_the_callee_rings_and_answering_on_one_stops_the_others(new_context: Any) -> None:
    # given bob signed in twice
    _, alice, bob = colleagues()
    alice_page, bob_tab, bob_other_tab = new_context(), new_context(), new_context()
    for page, user in ((alice_page, alice), (bob_tab, bob), (bob_other_tab, bob)):
        open_communicator(page, user)

    # when alice calls
    call_from_directory(alice_page, bob)

    # then both of bob's sessions ring; he answers on one, the other shows it on another device
    expect(bob_tab.locator(".call-toast")).to_be_visible()
    expect(bob_other_tab.locator(".call-toast")).to_be_visible()
    bob_tab.locator(".call-toast").get_by_role("button", name="Answer").click()
    expect(call_window(bob_tab).locator(".call-state")).to_have_text("Connected")
    expect(bob_other_tab.locator(".call-toast")).to_have_count(0)
    expect(bob_other_tab.locator('#call-windows [data-phase="foreign"]')).to_contain_text("On another device")
    assert Leg.objects.filter(party="callee").count() == 1


def test_a_call_to_another_organisations_extension_is_refused(new_context: Any) -> None:
    # given carol has extension 150 in another organisation
    _, alice, _ = colleagues()
    globex = make_organisation(name="Globex", sso_domain="globex.example")
    make_user(globex, "carol", extension="150")
    page = new_context()
    open_communicator(page, alice)

    # when alice dials 150
    page.locator("#phone-rail-button").click()
    page.locator("#dial-input").fill("150")
    page.locator("#call-button").click()

    # then she is told plainly, and no call exists
    expect(page.locator("#call-windows")).to_contain_text("There is no extension 150 in your organisation.")
    assert Call.objects.count() == 0


def test_a_denied_microphone_gets_a_clear_message(new_context: Any, playwright_driver: Any) -> None:
    # given a browser that refuses every permission prompt (no fake-ui auto-accept)
    args = [arg for arg in CHROMIUM_ARGS if arg != "--use-fake-ui-for-media-stream"]
    denying: Browser = launch(playwright_driver, "--deny-permission-prompts", base=args)
    try:
        _, alice, bob = colleagues()
        page = new_context(on=denying)
        open_communicator(page, alice)

        # when alice calls bob
        call_from_directory(page, bob)

        # then
        expect(page.locator("#call-windows")).to_contain_text("TOC can't use your microphone.")
        assert Call.objects.count() == 0
    finally:
        denying.close()


def test_phone_dnd_from_the_presence_menu_sends_calls_straight_to_voicemail(new_context: Any) -> None:
    # given
    _, bob, alice_page, bob_page = signed_in_pair(new_context)

    # when bob ticks Phone DND in his presence menu
    bob_page.locator("#presence-button").click()
    item = bob_page.get_by_role("menuitemcheckbox", name="Phone DND")
    expect(item).to_have_attribute("aria-checked", "false")
    item.click()
    expect(bob_page.locator("#phone-dnd-tag")).to_be_visible()
    assert User.objects.get(pk=bob.pk).phone_dnd is True

    # then alice's call goes straight to his voicemail: his window never rings
    call_from_directory(alice_page, bob)
    expect(call_window(alice_page).locator(".call-state")).to_have_text(
        re.compile("Voicemail: leaving a message for Bob Tester")
    )
    expect(bob_page.locator(".call-toast")).to_have_count(0)
    assert Call.objects.get().transitions.filter(to_state="ringing").count() == 0

    # when he unticks it, the tag goes
    bob_page.locator("#presence-button").click()
    expect(item).to_have_attribute("aria-checked", "true")
    item.click()
    expect(bob_page.locator("#phone-dnd-tag")).to_be_hidden()
    assert User.objects.get(pk=bob.pk).phone_dnd is False
