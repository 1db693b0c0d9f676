"""Chat in real browsers, live between people: a direct chat from New chat to a deleted message
(links, reactions through the picker, edits), what people write shown as text and never run,
a group with typing and a removed member who stops getting its messages, read state moving
between two windows of one person, and another organisation that can neither see nor join.

Every step a person takes goes through the page; the database is checked where it proves the
point. Files and voice messages are test_chat_files.py.
"""

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import off_the_browser_thread, screenshot
from tests.e2e.test_call_handling import team
from tests.e2e.test_wizard_and_presence import open_communicator
from tests.factories import make_organisation, make_user
from toc.accounts import services as account_services
from toc.accounts.models import User
from toc.chat import services as chat_services
from toc.chat.models import Membership, Message, Reaction

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

# How long a page is watched for a message that must not reach it, after a member received it.
NOT_DELIVERED_WAIT_MS = 1500

# Calls the chat API from the page as web/api.js does (session cookie, CSRF header): statuses.
CHAT_REQUESTS = """async (requests) => {
  const match = document.cookie.match(/(?:^|;\\s*)csrftoken=([^;]+)/);
  const headers = { Accept: 'application/json', 'Content-Type': 'application/json',
    'X-CSRFToken': match ? decodeURIComponent(match[1]) : '' };
  const statuses = [];
  for (const [method, path, body] of requests) {
    const options = { method, headers, credentials: 'same-origin' };
    if (body) options.body = JSON.stringify(body);
    statuses.push((await fetch(`/api/chat/${path}`, options)).status);
  }
  return statuses;
}"""


# --- helpers -------------------------------------------------------------------------------------


def signed_in(new_context: Any, *users: User) -> list[Page]:
    pages = []
    for user in users:
        page = new_context()
        open_communicator(page, user)
        pages.append(page)
    return pages


def socket_frames(page: Page) -> list[str]:
    """Every frame the page's sockets receive from now on (call before the page connects)."""
    frames: list[str] = []

    def watch(socket: Any) -> None:
        socket.on("framereceived", lambda payload: frames.append(payload if isinstance(payload, str) else ""))

    page.on("websocket", watch)
    return frames


def show_chat(page: Page) -> None:
    page.locator("#chat-rail-button").click()
    expect(page.locator("#chat-view")).to_be_visible()


def chat_row(page: Page, name: str) -> Locator:
    return page.locator("#chat-list > li.chat-row", has=page.locator(".entry-name", has_text=name))


def open_chat(page: Page, name: str) -> None:
    chat_row(page, name).locator(".chat-entry").click()
    expect(page.locator("#chat-conversation-title")).to_have_text(name)


def start_direct_chat(page: Page, person: User) -> None:
    """New chat → pick `person` by name: the chat opens."""
    show_chat(page)
    page.locator("#chat-new-button").click()
    page.locator("#chat-new-menu [data-item=new-chat]").click()
    page.locator("#chat-people-input").fill(person.first_name)
    page.locator("#chat-people-results button.transfer-result", has_text=person.display_name).click()
    expect(page.locator("#chat-conversation-title")).to_have_text(person.display_name)


def messages(page: Page) -> Locator:
    """The stored messages of the open chat (not notices, not ones still being sent)."""
    return page.locator("#chat-messages > li.chat-message:not(.pending)")


def send(page: Page, text: str) -> None:
    composer = page.locator("#chat-input")
    composer.fill(text)
    composer.press("Enter")
    expect(messages(page).filter(has_text=text)).to_have_count(1)


def message_menu(page: Page, message: Locator, item: str) -> None:
    """A message's More actions button (shown on hover), then `item` of its menu."""
    message.hover()
    message.get_by_role("button", name="More actions").click()
    page.locator(f"#chat-menu [data-item={item}]").click()


# --- tests ---------------------------------------------------------------------------------------


def test_a_direct_chat_is_live_from_first_message_to_deletion(new_context: Any) -> None:
    # given alice and bob signed in; bob has never opened the Chat view
    _, alice, bob, _ = team()
    alice_page, bob_page = signed_in(new_context, alice, bob)
    badge = bob_page.locator("#chat-badge")
    expect(badge).to_be_hidden()

    # when alice starts a chat with bob from New chat and sends two lines with a link
    start_direct_chat(alice_page, bob)
    composer = alice_page.locator("#chat-input")
    composer.fill("Hi Bob,")
    composer.press("Shift+Enter")
    composer.press_sequentially("the plan is at https://example.com/plan.")
    composer.press("Enter")

    # then bob's rail badge and window title count it, live
    expect(badge).to_have_text("1")
    expect(badge).to_have_attribute("aria-label", "1 unread chat message")
    expect(bob_page).to_have_title("(1) TOC")

    # when bob opens Chat and the chat with alice
    show_chat(bob_page)
    open_chat(bob_page, "Alice Tester")

    # then he reads both lines, the address is a link that opens a new tab, and the badge clears
    message = messages(bob_page)
    expect(message).to_have_count(1)
    expect(message.locator(".chat-text")).to_have_text("Hi Bob, the plan is at https://example.com/plan.")
    assert message.locator(".chat-text").text_content() == "Hi Bob,\nthe plan is at https://example.com/plan."
    link = message.locator(".chat-text a")
    expect(link).to_have_text("https://example.com/plan")
    expect(link).to_have_attribute("href", "https://example.com/plan")
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(badge).to_be_hidden()
    expect(bob_page).to_have_title("TOC")

    # when bob reacts with 👍 through the React button and the picker's search
    message.hover()
    message.get_by_role("button", name="React", exact=True).click()
    picker = bob_page.get_by_role("dialog", name="Emoji")
    picker.get_by_role("searchbox", name="Search emoji").fill("thumbs up")
    picker.get_by_role("button", name="thumbs up", exact=True).click()

    # then alice sees the reaction live, counted once and naming bob
    expect(message.locator('.chat-reaction[data-emoji="👍"]')).to_have_attribute("aria-pressed", "true")
    alice_message = messages(alice_page)
    chip = alice_message.locator('.chat-reaction[data-emoji="👍"]')
    expect(chip).to_have_attribute("aria-label", "👍 by Bob Tester")
    expect(chip).to_have_attribute("aria-pressed", "false")
    expect(chip.locator(".chat-reaction-count")).to_have_text("1")
    screenshot(alice_page, "chat-direct-reaction")

    # when alice edits her message from its menu
    message_menu(alice_page, alice_message, "edit")
    editor = alice_message.locator(".chat-edit-input")
    editor.fill("The plan moved to Friday.")
    editor.press("Enter")

    # then bob sees the new text marked as edited, live
    expect(message.locator(".chat-text")).to_have_text("The plan moved to Friday. (edited)")
    expect(message.locator(".chat-edited")).to_have_text("(edited)")

    # when alice deletes it, confirming
    message_menu(alice_page, alice_message, "delete")
    expect(alice_page.locator("#chat-confirm-dialog")).to_be_visible()
    alice_page.locator("#chat-confirm-ok").click()

    # then bob sees that it was deleted, live, without its text or reactions
    expect(message.locator(".chat-deleted")).to_have_text("This message was deleted.")
    expect(message).to_have_class(re.compile(r"\bdeleted\b"))
    expect(message.locator(".chat-text:not(.chat-deleted), .chat-reaction")).to_have_count(0)

    # and the database keeps its place only: no envelope, no reactions
    stored = Message.objects.get(pk=str(message.get_attribute("data-message-id")))
    assert (stored.sender_id, stored.sequence, stored.envelope, stored.search_text) == (alice.pk, 1, None, "")
    assert stored.deleted_at is not None and stored.edited_at is not None
    assert not Reaction.objects.filter(message=stored).exists()


def test_markup_and_script_links_are_shown_as_text_and_never_run(new_context: Any) -> None:
    # given alice has started a chat with bob, which bob has open
    _, alice, bob, _ = team()
    alice_page, bob_page = signed_in(new_context, alice, bob)
    start_direct_chat(alice_page, bob)
    show_chat(bob_page)
    open_chat(bob_page, "Alice Tester")
    injection = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    bait = "javascript:alert(1) [docs](javascript:alert(2)) www.javascript:alert(3)//x https://example.com/ok"

    # when alice sends markup and script links
    send(alice_page, injection)
    send(alice_page, bait)

    # then bob reads exactly what she wrote, as text: no element made of it, nothing run
    expect(messages(bob_page)).to_have_count(2)
    assert messages(bob_page).locator(".chat-text").all_text_contents() == [injection, bait]
    expect(chat_row(bob_page, "Alice Tester").locator(".chat-preview")).to_have_text(bait)
    for page in (alice_page, bob_page):
        expect(page.locator("#chat-messages img, #chat-messages script")).to_have_count(0)
        links = page.locator("#chat-messages a").evaluate_all("(links) => links.map((a) => a.getAttribute('href'))")
        assert links == ["https://example.com/ok"]
        assert page.evaluate("typeof window.__pwned") == "undefined"


def test_a_group_live_for_its_members_until_one_is_removed(new_context: Any) -> None:
    # given alice, bob and dave signed in, bob and dave in the Chat view; dave's socket is watched
    _, alice, bob, dave = team()
    alice_page, bob_page = signed_in(new_context, alice, bob)
    dave_page = new_context()
    dave_frames = socket_frames(dave_page)
    open_communicator(dave_page, dave)
    for page in (bob_page, dave_page):
        show_chat(page)
        expect(page.locator("#chat-list")).to_have_text("No chats yet. Start one with New chat.")

    # when alice creates the group "Launch" with bob and dave from New group
    show_chat(alice_page)
    alice_page.locator("#chat-new-button").click()
    alice_page.locator("#chat-new-menu [data-item=new-group]").click()
    alice_page.locator("#chat-group-name").fill("Launch")
    for person in (bob, dave):
        alice_page.locator("#chat-people-input").fill(person.first_name)
        alice_page.locator("#chat-people-results button.transfer-result", has_text=person.display_name).click()
    expect(alice_page.locator("#chat-picked > li")).to_have_text(["Bob Tester", "Dave Tester"])
    alice_page.locator("#chat-create-group").click()

    # then it opens for her, and appears live in bob's and dave's lists with the notice
    created = 'Alice Tester created the group "Launch" with Bob Tester and Dave Tester.'
    expect(alice_page.locator("#chat-conversation-title")).to_have_text("Launch")
    for page in (bob_page, dave_page):
        expect(chat_row(page, "Launch").locator(".chat-preview")).to_have_text(created)
        open_chat(page, "Launch")
        expect(page.locator("#chat-messages > li.chat-event")).to_contain_text(created)

    # when dave writes
    send(dave_page, "Slides are ready")

    # then alice and bob get it live
    for page in (alice_page, bob_page):
        expect(messages(page).filter(has_text="Slides are ready")).to_have_attribute("data-sender-id", str(dave.pk))

    # when bob types, alice sees it; when he sends, she gets the message and the typing ends
    bob_page.locator("#chat-input").press_sequentially("Great")
    expect(alice_page.locator("#chat-typing")).to_have_text("Bob Tester is typing…")
    expect(chat_row(alice_page, "Launch").locator(".chat-preview")).to_have_text("Bob Tester is typing…")
    screenshot(alice_page, "chat-group-typing")
    bob_page.locator("#chat-input").press("Enter")
    expect(messages(alice_page).filter(has_text="Great")).to_have_count(1)
    expect(alice_page.locator("#chat-typing")).to_have_text("")

    # when alice removes dave in Members
    alice_page.locator("#chat-members-button").click()
    dave_entry = alice_page.locator(f'#chat-member-list li[data-user-id="{dave.pk}"]')
    dave_entry.get_by_role("button", name="Remove Dave Tester from the group").click()
    expect(dave_entry).to_have_count(0)
    alice_page.locator("#chat-members-close").click()

    # then the group leaves dave's list and screen live; the others see the notice
    expect(dave_page.locator("#chat-list > li.chat-row")).to_have_count(0)
    expect(dave_page.locator("#chat-thread")).to_be_hidden()
    for page in (alice_page, bob_page):
        expect(page.locator("#chat-messages > li.chat-event").last).to_contain_text("Alice Tester removed Dave Tester.")
    assert not Membership.objects.filter(user=dave).exists()

    # when alice writes again
    send(alice_page, "Launch moves to Friday")

    # then bob gets it, and nothing of it ever reaches dave's page
    expect(messages(bob_page).filter(has_text="Launch moves to Friday")).to_have_count(1)
    dave_page.wait_for_timeout(NOT_DELIVERED_WAIT_MS)
    assert any("chat.conversation_removed" in frame for frame in dave_frames)
    assert not any("Launch moves to Friday" in frame for frame in dave_frames)
    expect(dave_page.get_by_text("Launch moves to Friday")).to_have_count(0)


def test_reading_in_one_window_clears_the_unread_count_in_the_other(new_context: Any) -> None:
    # given bob signed in in two windows, the second one showing its chat list
    _, alice, bob, _ = team()
    alice_page, first, second = signed_in(new_context, alice, bob, bob)
    show_chat(second)

    # when alice sends him two messages
    start_direct_chat(alice_page, bob)
    send(alice_page, "Are you there?")
    send(alice_page, "Call me when you can")

    # then both windows count them
    for page in (first, second):
        expect(page.locator("#chat-badge")).to_have_attribute("aria-label", "2 unread chat messages")
    row = chat_row(second, "Alice Tester")
    expect(row.locator(".chat-unread-count")).to_contain_text("2")

    # when he reads them in the first window
    show_chat(first)
    open_chat(first, "Alice Tester")
    expect(messages(first)).to_have_count(2)

    # then the second window's badge, title and list follow, without anything done there
    expect(second.locator("#chat-badge")).to_be_hidden()
    expect(second.locator("#chat-badge")).to_have_attribute("aria-label", "0 unread chat messages")
    expect(second).to_have_title("TOC")
    expect(row.locator(".chat-unread-count")).to_have_count(0)
    expect(row).not_to_have_class(re.compile(r"\bunread\b"))
    assert Membership.objects.get(user=bob).last_read_sequence == 2


def test_another_organisation_can_neither_see_nor_join_a_chat(new_context: Any) -> None:
    # given alice's chat with bob at Acme, and carol with a colleague at Globex
    _, alice, bob, _ = team()
    conversation, _ = off_the_browser_thread(chat_services.open_direct_chat, user=alice, other_user_id=bob.pk)
    envelope = {"format": "toc.plain/1", "payload": {"text": "Acme only", "attachments": []}}
    off_the_browser_thread(
        chat_services.send_message, user=alice, conversation_id=conversation.pk, envelope=envelope, client_id=None
    )
    globex = make_organisation(name="Globex", sso_domain="globex.example")
    carol = make_user(globex, "carol", extension="201")
    erin = make_user(globex, "erin", extension="202")
    for person in (carol, erin):
        account_services.complete_profile(user=person, calling_device="softphone", mobile_number="")
    counts = (Message.objects.count(), Membership.objects.count())
    (page,) = signed_in(new_context, carol)

    # when carol opens Chat
    show_chat(page)

    # then her list is empty, and New chat offers her own colleague only
    expect(page.locator("#chat-list")).to_have_text("No chats yet. Start one with New chat.")
    page.locator("#chat-new-button").click()
    page.locator("#chat-new-menu [data-item=new-chat]").click()
    results = page.locator("#chat-people-results")
    expect(results.locator("button.transfer-result .entry-name")).to_have_text(["Erin Tester"])
    for query in ("Alice", "Bob", "101"):
        page.locator("#chat-people-input").fill(query)
        expect(results).to_have_text("Nobody matches.")
    page.locator("#chat-new-cancel").click()

    # when she asks for alice's chat, its messages, to join it and to write in it
    base = f"conversations/{conversation.pk}/"
    statuses = page.evaluate(
        CHAT_REQUESTS,
        [
            ["GET", base, None],
            ["GET", f"{base}messages/", None],
            ["POST", f"{base}members/", {"user_ids": [carol.pk]}],
            ["POST", f"{base}messages/", {"envelope": envelope, "client_id": str(uuid.uuid4())}],
        ],
    )

    # then each is answered as if it did not exist, and nothing changed
    assert statuses == [404, 404, 404, 404]
    assert (Message.objects.count(), Membership.objects.count()) == counts
    assert not Membership.objects.filter(user=carol).exists()
    expect(page.locator("#chat-list")).to_have_text("No chats yet. Start one with New chat.")
