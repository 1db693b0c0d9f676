"""Chat files and voice messages in real browsers: a file dropped by one person and downloaded
byte for byte by the other, a picture shown inline, files refused to anyone outside the chat,
and a voice message recorded from Chromium's fake microphone and heard on the other side.

Audio is checked at both ends, as in test_voicemail: the stored recording decodes to alice's
tone (FFT peak within 10 Hz), and bob's page plays it through a WebAudio analyser that hears
1200 Hz well above the other tones; a silent microphone is the control. Nothing here sets
CHAT_MAX_ATTACHMENT_BYTES: the e2e server takes its settings once per session.
"""

import base64
import math
import os
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from playwright.sync_api import Page, expect

from tests.audio import RATE, peaks, tone_dbfs
from tests.e2e.conftest import off_the_browser_thread, screenshot
from tests.e2e.test_call_handling import ALICE_HZ, BOB_HZ, DAVE_HZ, HEARD_DB, TONES, eventually, team
from tests.e2e.test_voicemail import LISTEN_TO_PLAYER
from tests.e2e.test_wizard_and_presence import open_communicator
from tests.factories import make_organisation, make_user
from toc.accounts import services as account_services
from toc.accounts.models import User
from toc.chat import services as chat_services
from toc.chat.models import Attachment, Conversation
from toc.media.tracks import load_audio_file

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

RECORD_MILLISECONDS = 2000
HEARD_DBFS = -30  # the tone played back in bob's page stands above this
SILENT_DBFS = -60  # a silent recording stays far below this at every tone

# Builds a DataTransfer in the page holding files made from the bytes passed in (base64), as a
# drag from the desktop would carry them.
DATA_TRANSFER = """(files) => {
  const transfer = new DataTransfer();
  for (const { name, type, data } of files) {
    const bytes = Uint8Array.from(atob(data), (char) => char.charCodeAt(0));
    transfer.items.add(new File([bytes], name, { type }));
  }
  return transfer;
}"""

# Fetches a URL as the signed-in person of the page: the status and how many bytes came.
FETCH = """async (url) => {
  const response = await fetch(url, { credentials: 'same-origin' });
  return { status: response.status, length: (await response.arrayBuffer()).byteLength };
}"""

# Waits until the voice player knows its length (it seeks to the end to find it, then back).
PLAYER_READY = """(audio) => audio.readyState >= 1 && Number.isFinite(audio.duration) && audio.duration > 0
  && audio.currentTime === 0 && !audio.seeking"""


# --- helpers -------------------------------------------------------------------------------------


def png(width: int, height: int) -> bytes:
    """A real RGB PNG of a colour gradient."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(
        b"\x00" + b"".join(bytes((x * 255 // width, y * 255 // height, 128)) for x in range(width))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def direct_chat(alice: User, bob: User) -> Conversation:
    conversation, _ = off_the_browser_thread(chat_services.open_direct_chat, user=alice, other_user_id=bob.pk)
    return conversation


def chat_open_on_both_sides(alice_page: Page, bob_page: Page) -> None:
    """Alice and bob (of `team()`) signed in on those pages, their direct chat open on both."""
    _, alice, bob, _ = team()
    conversation = direct_chat(alice, bob)
    for page, user in ((alice_page, alice), (bob_page, bob)):
        open_communicator(page, user)
        open_chat(page, conversation)


def open_chat(page: Page, conversation: Conversation) -> None:
    """Chat in the rail, then the conversation in the list."""
    page.locator("#chat-rail-button").click()
    page.locator(f'#chat-list > li.chat-row[data-conversation-id="{conversation.pk}"] .chat-entry').click()
    expect(page.locator("#chat-thread")).to_be_visible()
    expect(page.locator("#chat-input")).to_be_focused()


def drop_files(page: Page, *files: tuple[str, str, bytes]) -> None:
    """Drags `files` (name, type, bytes) over the open conversation and drops them there; the
    drop overlay shows while they are over it."""
    transfer = page.evaluate_handle(
        DATA_TRANSFER,
        [{"name": name, "type": kind, "data": base64.b64encode(data).decode()} for name, kind, data in files],
    )
    overlay = page.locator("#chat-drop-overlay")
    expect(overlay).to_be_hidden()
    page.dispatch_event("#chat-conversation", "dragenter", {"dataTransfer": transfer})
    page.dispatch_event("#chat-conversation", "dragover", {"dataTransfer": transfer})
    expect(overlay).to_be_visible()
    expect(overlay).to_contain_text("Drop files to")
    page.dispatch_event("#chat-conversation", "drop", {"dataTransfer": transfer})
    expect(overlay).to_be_hidden()


def message_with(page: Page, attachment: Attachment) -> Any:
    return page.locator(
        "ol#chat-messages > li.chat-message",
        has=page.locator(f'.chat-attachment[data-attachment-id="{attachment.pk}"]'),
    )


def fetched(page: Page, url: str) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(FETCH, url)
    return result


def other_organisation_user() -> User:
    globex = make_organisation(name="Globex", sso_domain="globex.example")
    carol = make_user(globex, "carol", extension="201")
    account_services.complete_profile(user=carol, calling_device="softphone", mobile_number="")
    return carol


def js_round(seconds: float) -> int:
    """Math.round, as the client's formatDuration rounds (halves up, unlike Python's round)."""
    return math.floor(seconds + 0.5)


def record_voice_message(page: Page) -> None:
    """Presses the voice button, lets the microphone record for RECORD_MILLISECONDS, presses it
    again: the recording uploads and is sent as its own message."""
    voice = page.locator("#chat-voice-button")
    voice.click()
    recording = page.locator("#chat-pending li.chat-recording")
    expect(recording).to_have_attribute("data-state", "recording")
    expect(voice).to_have_attribute("aria-pressed", "true")
    page.wait_for_timeout(RECORD_MILLISECONDS)  # the length of the recording, not a wait for state
    expect(recording.locator(".chat-recording-time")).to_have_text("0:02")
    voice.click()
    expect(recording).to_have_count(0)
    expect(voice).to_have_attribute("aria-pressed", "false")


def played_in(page: Page, attachment: Attachment) -> dict[str, Any]:
    """Plays the voice message's player in `page` through an analyser: the level at each tone
    (`tones`), the player's length (`duration`) and where a seek to 1 s landed (`seeked_to`)."""
    selector = f'.chat-voice[data-attachment-id="{attachment.pk}"] audio'
    player = page.locator(selector)
    player.scroll_into_view_if_needed()
    page.wait_for_function(PLAYER_READY, arg=player.element_handle(), timeout=10_000)
    result = page.evaluate(LISTEN_TO_PLAYER, [selector, TONES])
    assert result is not None, "no player in the page"
    result["tones"] = {int(hz): level for hz, level in result["tones"].items()}
    return dict(result)


def stored_samples(attachment: Attachment) -> Any:
    assert attachment.file.name, "no stored file"
    return load_audio_file(Path(default_storage.path(attachment.file.name)))


# --- files ---------------------------------------------------------------------------------------


def test_a_dropped_file_is_downloaded_byte_identical_and_a_picture_shows_inline(new_context: Any) -> None:
    # given alice and bob with their direct chat open, and a report (random bytes) and a picture
    alice_page, bob_page = new_context(), new_context()
    chat_open_on_both_sides(alice_page, bob_page)
    report = os.urandom(300 * 1024)
    picture = png(96, 64)

    # when alice drags both onto the conversation and drops them
    drop_files(alice_page, ("report.pdf", "application/pdf", report), ("picture.png", "image/png", picture))

    # then both upload into the pending list, and Send lights up
    pending = alice_page.locator("#chat-pending li.chat-pending-item")
    expect(pending).to_have_count(2)
    expect(pending.nth(0)).to_have_attribute("data-kind", "file")
    expect(pending.nth(0).locator(".chat-pending-name")).to_have_text("report.pdf")
    expect(pending.nth(0).locator(".chat-pending-meta")).to_have_text("300 KB")
    expect(pending.nth(1)).to_have_attribute("data-kind", "image")
    expect(pending.nth(1).locator(".chat-pending-name")).to_have_text("picture.png")
    for item in (pending.nth(0), pending.nth(1)):
        expect(item).to_have_attribute("data-state", "done")
    expect(alice_page.locator("#chat-send-button")).to_be_enabled()
    screenshot(alice_page, "chat-files-pending")

    # when she sends them
    alice_page.locator("#chat-send-button").click()

    # then the pending list empties, and bob sees one message with both, live
    expect(alice_page.locator("#chat-pending")).to_be_hidden()
    stored_report = eventually(lambda: Attachment.objects.filter(name="report.pdf", message__isnull=False).first())
    stored_picture = Attachment.objects.get(name="picture.png")
    assert (stored_report.kind, stored_report.content_type, stored_report.size) == (
        "file",
        "application/pdf",
        len(report),
    )
    assert (stored_picture.kind, stored_picture.content_type, stored_picture.message_id) == (
        "image",
        "image/png",
        stored_report.message_id,
    )
    with default_storage.open(stored_report.file.name, "rb") as file:
        assert file.read() == report
    message = message_with(bob_page, stored_report)
    expect(message).to_have_count(1)
    expect(message).to_have_attribute("data-message-id", str(stored_report.message_id))
    expect(message).to_have_attribute("data-sequence", "1")
    expect(message.locator(".chat-sender")).to_have_text("Alice Tester")
    expect(message.locator(".chat-attachment")).to_have_count(2)
    document = message.locator(f'.chat-attachment[data-attachment-id="{stored_report.pk}"]')
    expect(document).to_have_attribute("data-kind", "file")
    expect(document.locator(".chat-attachment-name")).to_have_text("report.pdf")
    expect(document.locator(".chat-file-size")).to_have_text("300 KB")

    # and the picture shows as a loaded <img> of the right size
    image = message.locator(f'.chat-attachment[data-attachment-id="{stored_picture.pk}"][data-kind="image"] img')
    expect(image).to_have_attribute("src", f"/api/chat/attachments/{stored_picture.pk}/")
    expect(image).to_have_attribute("alt", "picture.png")
    image.scroll_into_view_if_needed()
    bob_page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    assert image.evaluate("(img) => [img.naturalWidth, img.naturalHeight]") == [96, 64]
    screenshot(bob_page, "chat-files-received")

    # when bob clicks the report's Download link
    with bob_page.expect_download() as download_info:
        document.locator("a.chat-download").click()
    download = download_info.value

    # then he saves exactly alice's bytes, under the report's name
    assert download.failure() is None
    assert download.suggested_filename == "report.pdf"
    assert Path(download.path()).read_bytes() == report


def test_only_members_get_a_sent_file(new_context: Any) -> None:
    # given alice sent bob a file chosen with the attach button; dave (Acme, not in the chat)
    # and carol (another organisation) are signed in too
    _, alice, bob, dave = team()
    carol = other_organisation_user()
    conversation = direct_chat(alice, bob)
    alice_page, bob_page, dave_page, carol_page = new_context(), new_context(), new_context(), new_context()
    for page, user in ((alice_page, alice), (bob_page, bob), (dave_page, dave), (carol_page, carol)):
        open_communicator(page, user)
    open_chat(alice_page, conversation)
    contract = os.urandom(50 * 1024)
    with alice_page.expect_file_chooser() as chooser:
        alice_page.locator("#chat-attach-button").click()
    chooser.value.set_files([{"name": "contract.bin", "mimeType": "application/octet-stream", "buffer": contract}])
    expect(alice_page.locator("#chat-pending li.chat-pending-item")).to_have_attribute("data-state", "done")
    alice_page.locator("#chat-send-button").click()
    attachment = eventually(lambda: Attachment.objects.filter(name="contract.bin", message__isnull=False).first())
    url = f"/api/chat/attachments/{attachment.pk}/"
    open_chat(bob_page, conversation)
    expect(message_with(bob_page, attachment).locator("a.chat-download")).to_have_attribute("href", f"{url}?download=1")

    # when each of them asks for the file from their own page
    pages = {"bob": bob_page, "dave": dave_page, "carol": carol_page}
    answers = {name: fetched(page, url) for name, page in pages.items()}

    # then the member gets it whole; the others are told it does not exist
    assert {name: answer["status"] for name, answer in answers.items()} == {"bob": 200, "dave": 404, "carol": 404}
    assert answers["bob"]["length"] == len(contract)
    assert fetched(dave_page, f"{url}?download=1")["status"] == 404
    assert Attachment.objects.get(pk=attachment.pk).size == len(contract)


# --- voice messages ------------------------------------------------------------------------------


def test_a_voice_message_from_the_microphone_is_heard_by_the_other_side(
    new_context: Any, browser_with_tone: Any
) -> None:
    # given alice, whose microphone plays 1200 Hz, and bob in their direct chat
    alice_page, bob_page = new_context(on=browser_with_tone(ALICE_HZ)), new_context(on=browser_with_tone(BOB_HZ))
    chat_open_on_both_sides(alice_page, bob_page)

    # when she records a voice message of about 2 s and presses the voice button again
    record_voice_message(alice_page)

    # then it is stored as a voice message of that length, sent on its own
    attachment = eventually(lambda: Attachment.objects.filter(kind="voice", message__isnull=False).first())
    assert attachment.content_type == "audio/webm"
    assert attachment.name.startswith("voice-") and attachment.name.endswith(".webm"), attachment.name
    assert 1.5 <= attachment.duration_seconds <= 3.0, attachment.duration_seconds
    label = f"Voice message · 0:{js_round(attachment.duration_seconds):02d}"

    # and bob sees it live, with its length
    message = message_with(bob_page, attachment)
    expect(message).to_have_attribute("data-sequence", "1")
    voice = message.locator(f'.chat-attachment[data-attachment-id="{attachment.pk}"]')
    expect(voice).to_have_attribute("data-kind", "voice")
    expect(voice.locator(".chat-voice-label")).to_have_text(label)
    expect(voice.locator("audio")).to_have_attribute("aria-label", label)
    screenshot(bob_page, "chat-files-voice-message")

    # and the stored recording is alice's tone, for as long as she spoke
    samples = stored_samples(attachment)
    assert samples.size / RATE >= 1.5, samples.size / RATE
    assert abs(peaks(samples, 1)[0] - ALICE_HZ) <= 10

    # when bob plays it, the player knows its length, and his page hears alice's tone, loud and
    # well above the others (seeking: test_a_voice_message_can_be_played_from_the_middle)
    played = played_in(bob_page, attachment)
    assert abs(played["duration"] - samples.size / RATE) < 0.1, played
    levels = played["tones"]
    assert levels[ALICE_HZ] > HEARD_DBFS, levels
    assert levels[ALICE_HZ] > max(levels[BOB_HZ], levels[DAVE_HZ]) + HEARD_DB, levels


def test_a_voice_message_from_a_silent_microphone_plays_no_tone(new_context: Any, browser_with_tone: Any) -> None:
    # given alice, whose microphone is silent, and bob in their direct chat
    alice_page, bob_page = new_context(on=browser_with_tone(0)), new_context(on=browser_with_tone(BOB_HZ))
    chat_open_on_both_sides(alice_page, bob_page)

    # when she records a voice message
    record_voice_message(alice_page)

    # then it is stored and reaches bob, and neither the file nor bob's page has any tone in it
    attachment = eventually(lambda: Attachment.objects.filter(kind="voice", message__isnull=False).first())
    expect(message_with(bob_page, attachment).locator(".chat-voice-label")).to_have_text(
        f"Voice message · 0:{js_round(attachment.duration_seconds):02d}"
    )
    samples = stored_samples(attachment)
    assert samples.size / RATE >= 1.5, samples.size / RATE
    assert tone_dbfs(samples, ALICE_HZ) < SILENT_DBFS
    played = played_in(bob_page, attachment)
    assert abs(played["duration"] - samples.size / RATE) < 0.1, played
    assert max(played["tones"].values()) < SILENT_DBFS, played


def test_a_voice_message_can_be_played_from_the_middle(new_context: Any, browser_with_tone: Any) -> None:
    # given bob has alice's voice message of about 2 s open in their direct chat
    alice_page, bob_page = new_context(on=browser_with_tone(ALICE_HZ)), new_context(on=browser_with_tone(BOB_HZ))
    chat_open_on_both_sides(alice_page, bob_page)
    record_voice_message(alice_page)
    attachment = eventually(lambda: Attachment.objects.filter(kind="voice", message__isnull=False).first())
    expect(message_with(bob_page, attachment).locator("audio")).to_be_attached()

    # when he plays it and moves to 1 s (as dragging the player's timeline does)
    played = played_in(bob_page, attachment)

    # then it plays on from there
    assert abs(played["seeked_to"] - 1) < 0.2, played
