"""SMS in a real browser, through the real server processes and the real twilio client, to a
local server with Twilio's shapes: compose to a Canadian number with the live segment count
and the encryption warning in view, send, watch the status reach Delivered from Twilio's
callbacks; a refused number shows Twilio's reason; an inbound text and picture arrive live, the
picture downloaded and served by TOC; a text for a closed SMS view raises the unread badge."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server, screenshot
from tests.e2e.test_wizard_and_presence import open_communicator
from tests.factories import make_organisation, make_user
from tests.sms.conftest import png
from tests.sms.fake_twilio import FakeTwilio, Response, parse_auto_status
from toc.accounts import services as account_services
from toc.accounts.models import User
from toc.sms.models import Media, Message

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]

WARNING = (
    "SMS messages are not end-to-end encrypted. Some service providers may transmit or store SMS messages in "
    "plain-text. Do not send sensitive information over any SMS messaging platform."
)
CELL = "+14165550199"


@pytest.fixture
def twilio(fake_twilio: FakeTwilio) -> Iterator[FakeTwilio]:
    fake_twilio.reset()
    fake_twilio.auto_status = parse_auto_status("sent:0.3,delivered:0.8")
    yield fake_twilio
    fake_twilio.auto_status = []


def alice() -> User:
    acme = make_organisation(name="Acme", sso_domain="acme.example")
    user = make_user(acme, "alice", extension="101", direct_number="+14165550101")
    account_services.complete_profile(user=user, calling_device="softphone", mobile_number="")
    return user


def start_thread(page: Page, number: str) -> None:
    page.locator("#sms-rail-button").click()
    page.locator("#sms-new-button").click()
    page.locator("#sms-to-input").fill(number)
    page.locator("#sms-new-start").click()
    expect(page.locator("#sms-input")).to_be_focused()


def test_compose_send_and_watch_it_delivered(new_context, twilio: FakeTwilio) -> None:
    user = alice()
    page = new_context()
    open_communicator(page, user)
    page.locator("#sms-rail-button").click()
    page.locator("#sms-new-button").click()
    page.locator("#sms-to-input").fill("212 555 0100")
    page.locator("#sms-new-start").click()
    expect(page.locator("#sms-new-error")).to_have_text("SMS can only be sent to Canadian numbers.")
    page.locator("#sms-to-input").fill("416 555 0199")
    page.locator("#sms-new-start").click()

    expect(page.locator("#sms-warning")).to_contain_text(WARNING)
    page.locator("#sms-input").fill("Your order is ready at the front desk")
    expect(page.locator("#sms-counter")).to_contain_text("37 / 160 · 1 SMS")
    page.locator("#sms-input").fill("Café ☕ ready")
    expect(page.locator("#sms-counter")).to_contain_text("UCS-2")
    page.locator("#sms-input").fill("Your order is ready at the front desk")
    page.locator("#sms-input").press("Enter")

    sent = page.locator("li.sms-message.outbound").last
    expect(sent.locator(".sms-text")).to_have_text("Your order is ready at the front desk")
    expect(sent.locator(".sms-status")).to_contain_text("Delivered", timeout=15_000)
    [created] = twilio.created()
    assert (created.value("To"), created.value("From"), created.value("Body")) == (
        CELL,
        "+14165550101",
        "Your order is ready at the front desk",
    )
    stored = Message.objects.get()
    assert (stored.status, stored.provider_sid) == ("delivered", created.sid)
    screenshot(page, "sms-delivered")


def test_a_refused_number_shows_twilios_reason(new_context, twilio: FakeTwilio) -> None:
    user = alice()
    page = new_context()
    open_communicator(page, user)
    twilio.script(Response.invalid_number())
    start_thread(page, "416 555 0199")
    page.locator("#sms-input").fill("Hello?")
    page.locator("#sms-send-button").click()
    expect(page.locator("li.sms-message.outbound .sms-status").last).to_have_text(
        "Failed: This is not a valid phone number.", timeout=15_000
    )


def test_inbound_text_and_picture_arrive_live_and_raise_the_badge(
    new_context, twilio: FakeTwilio, e2e_server: Server
) -> None:
    user = alice()
    page = new_context()
    open_communicator(page, user)
    start_thread(page, "416 555 0199")
    page.bring_to_front()  # the window has the focus: what arrives in the open thread is read
    webhook = f"{e2e_server.url}/webhooks/twilio/sms/inbound"
    picture = png(64, 48)

    response, _ = twilio.send_inbound(webhook, CELL, user.direct_number, "Here is the photo", [("image/png", picture)])
    assert response.status_code == 200
    received = page.locator("li.sms-message.inbound").last
    expect(received.locator(".sms-text")).to_have_text("Here is the photo")
    image = received.locator(".sms-picture img")
    expect(image).to_be_visible(timeout=15_000)
    page.wait_for_function("(img) => img.complete && img.naturalWidth === 64", arg=image.element_handle())
    assert image.get_attribute("src", timeout=5_000).startswith("/api/sms/media/")
    assert Media.objects.get().file.read() == picture
    expect(page.locator("#sms-badge")).to_be_hidden()

    page.locator('.rail-button[data-view="contacts"]').click()
    twilio.send_inbound(webhook, "+16135550142", user.direct_number, "Are you open on Sunday?")
    badge = page.locator("#sms-badge")
    expect(badge).to_have_text("1")
    expect(badge).to_have_attribute("aria-label", "1 unread text message")
    page.locator("#sms-rail-button").click()
    row = page.locator("li.sms-row", has_text="(613) 555-0142")
    expect(row.locator(".sms-preview")).to_have_text("Are you open on Sunday?")
    row.locator("button.sms-entry").click()
    expect(badge).to_be_hidden()
    screenshot(page, "sms-inbound")


def test_the_composers_segment_count_is_the_servers(new_context) -> None:
    from toc.sms.segments import count_segments

    texts = ["", "a" * 160, "a" * 161, "a" * 306, "a" * 307, "€" * 80, "€" * 81, "{}[]~|^\\" * 20]
    texts += ["é" * 160, "ê" * 70, "ê" * 71, "ê" * 134, "ê" * 135, "😀" * 35, "😀" * 36, "Ça va? ¿Sí! @£$¥ ΔΦΓ"]
    texts += ["line\nbreak\r\n" * 20, "tab\there", "naïve café", "ﬁ ligature", "x" * 153 + "€"]
    page = new_context()
    page.goto("/healthz")
    counted = page.evaluate(
        """async (texts) => {
          const { countSegments } = await import('/static/web/sms-segments.js');
          return texts.map((text) => { const c = countSegments(text); return [c.encoding, c.units, c.segments]; });
        }""",
        texts,
    )
    expected = [[c.encoding, c.units, c.segments] for c in map(count_segments, texts)]
    assert counted == expected
