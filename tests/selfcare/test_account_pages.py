"""Self Care pages of a user's own account (Voicemail, Devices), the way in from the sign-in
pages (`next`), as plain form posts and as htmx requests."""

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.hashers import check_password
from django.contrib.sessions.models import Session
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.audio import write_wav
from tests.factories import PASSWORD
from toc.accounts import services as account_services
from toc.accounts.models import CallingDevice, User
from toc.accounts.profile import public_id_of
from toc.presence import services as presence_services
from toc.voicemail import services as voicemail
from toc.voicemail.models import Mailbox

pytestmark = pytest.mark.django_db

VOICEMAIL = "/selfcare/voicemail/"
DEVICES = "/selfcare/devices/"
HTMX = {"HX-Request": "true"}


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def session_key_of(client: Client) -> str:
    return str(client.cookies["sessionid"].value)


def sign_out_url(session_key: str) -> str:
    return f"/selfcare/devices/sessions/{public_id_of(session_key)}/sign-out/"


def text(response: Any) -> str:
    return response.content.decode()


def completed(user: User) -> User:
    return account_services.complete_profile(user=user, calling_device=CallingDevice.SOFTPHONE, mobile_number="")


def mailbox_of(user: User) -> Mailbox:
    return Mailbox.objects.get(user=user)


# --- the way in -----------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in_with_next(db: None) -> None:
    for url in (VOICEMAIL, DEVICES):
        # when
        response = Client().get(url)

        # then
        assert (response.status_code, response["Location"]) == (302, f"/login/?next={url.replace('/', '%2F')}")
    for url in ("/selfcare/voicemail/pin/", "/selfcare/devices/mobile/", sign_out_url("x" * 32)):
        assert Client().post(url, {}).status_code == 302


def test_password_sign_in_follows_a_safe_next(alice: User) -> None:
    # given a visitor sent to sign in by a portal page: next travels in the links and the form
    completed(alice)
    client = Client()
    page = client.get("/login/?next=/selfcare/voicemail/").content.decode()
    assert 'href="/login/password/?next=/selfcare/voicemail/"' in page
    form = client.get("/login/password/?next=/selfcare/voicemail/").content.decode()
    assert '<input type="hidden" name="next" value="/selfcare/voicemail/">' in form

    # when
    response = client.post("/login/password/", {"email": alice.email, "password": PASSWORD, "next": VOICEMAIL})

    # then
    assert (response.status_code, response["Location"]) == (302, VOICEMAIL)


def test_password_sign_in_takes_next_from_its_own_address_too(alice: User) -> None:
    completed(alice)

    response = Client().post("/login/password/?next=/selfcare/devices/", {"email": alice.email, "password": PASSWORD})

    assert (response.status_code, response["Location"]) == (302, DEVICES)


def test_a_next_to_another_site_is_ignored(alice: User) -> None:
    completed(alice)
    for unsafe in ("https://evil.example/", "//evil.example/", "/\\evil.example/"):
        # given
        client = Client()
        client.get("/login/", {"next": unsafe})

        # when
        response = client.post("/login/password/", {"email": alice.email, "password": PASSWORD}, QUERY_STRING="")

        # then
        assert (response.status_code, response["Location"]) == (302, "/")


def test_the_profile_wizard_comes_first_then_next(alice: User) -> None:
    # given alice never finished the Profile Wizard
    client = Client()

    # when
    signed_in = client.post("/login/password/", {"email": alice.email, "password": PASSWORD, "next": VOICEMAIL})
    finished = client.post("/wizard/finish/")

    # then
    assert signed_in["Location"] == "/wizard/phones/"
    assert finished["Location"] == VOICEMAIL


def test_sso_sign_in_follows_a_safe_next(alice: User) -> None:
    # given the visitor chose SSO and the identity provider signed them in
    completed(alice)
    client = Client()
    assert '<input type="hidden" name="next" value="/selfcare/devices/">' in (
        client.get("/login/sso/?next=/selfcare/devices/").content.decode()
    )
    client.post("/login/sso/", {"domain": "acme.example", "next": DEVICES})
    client.force_login(alice)

    # when
    response = client.get("/login/done/")

    # then
    assert (response.status_code, response["Location"]) == (302, DEVICES)


def test_a_signed_in_member_opening_sign_in_with_next_goes_there(alice: User) -> None:
    completed(alice)

    response = client_of(alice).get("/login/?next=/selfcare/devices/")

    assert response["Location"] == DEVICES


def test_the_communicator_menu_opens_the_portal_in_a_new_tab_and_the_portal_links_back(alice: User) -> None:
    completed(alice)
    client = client_of(alice)

    communicator = text(client.get("/"))
    portal = text(client.get(VOICEMAIL))

    assert '<a role="menuitem" class="menu-item" href="/selfcare/" target="_blank" rel="noopener">' in communicator
    assert '<a class="selfcare-back" href="/">Back to TOC</a>' in portal
    assert '<a href="/selfcare/voicemail/" aria-current="page">Voicemail</a>' in portal


# --- Voicemail ------------------------------------------------------------------------------------


def test_the_voicemail_page_shows_the_greeting_in_use_and_where_e_mail_goes(bob: User) -> None:
    response = client_of(bob).get(VOICEMAIL)

    page = text(response)
    assert response.status_code == 200
    assert "<div><dt>When you do not answer</dt><dd>The default greeting</dd></div>" in page
    assert '<input type="radio" name="greeting_choice" value="unavailable" checked>' in page
    assert "<strong>bob@acme.example</strong>" in page
    assert "You have no PIN yet" in page


def test_choosing_the_busy_greeting_by_a_plain_post_redirects_with_a_message(bob: User, tmp_path: Path) -> None:
    # given bob recorded a Busy greeting
    voicemail.upload_greeting(user=bob, kind="busy", upload=audio_file(tmp_path))

    # when
    response = client_of(bob).post("/selfcare/voicemail/greeting/", {"greeting_choice": "busy"}, follow=True)

    # then
    page = text(response)
    assert response.redirect_chain == [(VOICEMAIL, 302)]
    assert "Greeting choice saved." in page
    assert "<div><dt>When you are on a call</dt><dd>Your Busy greeting</dd></div>" in page
    assert mailbox_of(bob).greeting_choice == "busy"


def test_choosing_a_greeting_with_htmx_returns_the_card_only(bob: User) -> None:
    response = client_of(bob).post("/selfcare/voicemail/greeting/", {"greeting_choice": "busy"}, headers=HTMX)

    page = text(response)
    assert response.status_code == 200
    assert page.startswith('<section class="card" id="voicemail-greeting"')
    assert '<p class="notice notice-success" role="status">Greeting choice saved.</p>' in page
    assert mailbox_of(bob).greeting_choice == "busy"


def test_an_unknown_greeting_choice_is_refused_and_nothing_changes(bob: User) -> None:
    voicemail.update_settings(user=bob, greeting_choice="busy")

    response = client_of(bob).post("/selfcare/voicemail/greeting/", {"greeting_choice": "loud"}, headers=HTMX)

    assert response.status_code == 422
    assert '<p class="field-error" id="greeting_choice-error">Choose unavailable or busy.</p>' in text(response)
    assert mailbox_of(bob).greeting_choice == "busy"


def audio_file(tmp_path: Path) -> SimpleUploadedFile:
    path = write_wav(tmp_path / "greeting.wav", hz=600, seconds=2)
    return SimpleUploadedFile("greeting.wav", path.read_bytes(), content_type="audio/wav")


def test_uploading_then_removing_a_greeting(bob: User, tmp_path: Path) -> None:
    client = client_of(bob)

    # when bob uploads an Unavailable greeting
    uploaded = client.post(
        "/selfcare/voicemail/greeting/upload/", {"kind": "unavailable", "file": audio_file(tmp_path)}, headers=HTMX
    )

    # then it is stored and playable from the card
    assert uploaded.status_code == 200
    assert f'src="/api/voicemail/mailboxes/{bob.pk}/greetings/unavailable/"' in text(uploaded)
    assert "Unavailable greeting uploaded." in text(uploaded)
    assert mailbox_of(bob).unavailable_greeting.name != ""

    # when bob removes it
    removed = client.post("/selfcare/voicemail/greeting/remove/", {"kind": "unavailable"}, follow=True)

    # then callers hear the default greeting again
    assert removed.redirect_chain == [(VOICEMAIL, 302)]
    assert "Unavailable greeting removed: callers hear the default one instead." in text(removed)
    assert mailbox_of(bob).unavailable_greeting.name == ""


def test_a_file_that_is_not_audio_is_refused_next_to_its_field(bob: User) -> None:
    junk = SimpleUploadedFile("notes.wav", b"not audio at all" * 100, content_type="audio/wav")

    response = client_of(bob).post("/selfcare/voicemail/greeting/upload/", {"kind": "busy", "file": junk})

    assert response.status_code == 422
    assert '<p class="field-error" id="file-busy-error">That file is not audio that can be played.</p>' in text(
        response
    )
    assert mailbox_of(bob).busy_greeting.name == ""


def test_an_upload_without_a_file_is_refused(bob: User) -> None:
    response = client_of(bob).post("/selfcare/voicemail/greeting/upload/", {"kind": "busy"}, headers=HTMX)

    assert response.status_code == 422
    assert '<p class="field-error" id="file-busy-error">Choose an audio file.</p>' in text(response)


def test_changing_the_pin(bob: User) -> None:
    # when
    response = client_of(bob).post("/selfcare/voicemail/pin/", {"pin": "2580", "pin_again": "2580"}, headers=HTMX)

    # then
    assert response.status_code == 200
    assert text(response).startswith('<form class="card" id="voicemail-pin"')
    assert '<p class="notice notice-success" role="status">Voicemail PIN changed.</p>' in text(response)
    assert check_password("2580", mailbox_of(bob).pin_hash)


def test_a_pin_typed_differently_twice_is_refused_and_nothing_changes(bob: User) -> None:
    voicemail.set_pin(user=bob, pin="2580")

    response = client_of(bob).post("/selfcare/voicemail/pin/", {"pin": "4826", "pin_again": "4827"})

    assert response.status_code == 422
    assert '<p class="field-error" id="pin_again-error">The two PINs are not the same.</p>' in text(response)
    assert check_password("2580", mailbox_of(bob).pin_hash)


def test_a_bad_pin_is_refused_with_the_reason_and_nothing_changes(bob: User) -> None:
    voicemail.set_pin(user=bob, pin="2580")
    client = client_of(bob)
    cases = {
        "1234": "A PIN cannot be a run of digits such as 1234.",
        "102": "A PIN is 4 to 8 digits long.",
        "12ab": "A PIN is made of digits only.",
        "": "A PIN is made of digits only.",
    }
    for pin, reason in cases.items():
        # when
        response = client.post("/selfcare/voicemail/pin/", {"pin": pin, "pin_again": pin}, headers=HTMX)

        # then
        assert response.status_code == 422
        assert f'<p class="field-error" id="pin-error">{reason}</p>' in text(response)
    assert check_password("2580", mailbox_of(bob).pin_hash)


def test_turning_voicemail_to_e_mail_on_and_off(bob: User) -> None:
    client = client_of(bob)

    turned_on = client.post("/selfcare/voicemail/email/", {"email_enabled": "on"}, headers=HTMX)
    assert turned_on.status_code == 200
    assert "New messages will be e-mailed to you." in text(turned_on)
    assert mailbox_of(bob).email_enabled is True

    turned_off = client.post("/selfcare/voicemail/email/", {}, follow=True)
    assert turned_off.redirect_chain == [(VOICEMAIL, 302)]
    assert "New messages will no longer be e-mailed." in text(turned_off)
    assert mailbox_of(bob).email_enabled is False


# --- Devices --------------------------------------------------------------------------------------


def test_the_devices_page_lists_each_signed_in_session_with_its_live_clients(bob: User) -> None:
    # given bob is signed in on a laptop (with TOC open) and here
    laptop = client_of(bob)
    presence_services.connect_client(
        user=bob, channel_name="laptop-socket", session_key=session_key_of(laptop), label="Firefox on Mac"
    )
    here = client_of(bob)

    # when
    response = here.get(DEVICES, headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0"})

    # then
    page = text(response)
    assert response.status_code == 200
    assert (
        '<span class="device-name">Chrome on Linux</span> <span class="badge badge-accent">This device</span>' in page
    )
    assert '<span class="device-name">Firefox on Mac</span></td>' in page
    assert "1 window · last seen" in page
    assert page.count('/sign-out/"') == 4  # two forms, each with action and hx-post
    assert sign_out_url(session_key_of(laptop)) in page
    # the page names sessions by an opaque id: never a session's key, which is its cookie
    assert session_key_of(laptop) not in page
    assert session_key_of(here) not in page


def test_apps_signed_in_with_a_token_are_listed_without_a_sign_out_button(bob: User, alice: User) -> None:
    # given bob's desktop app is connected with its API token (no session), and alice's too
    presence_services.connect_client(user=bob, channel_name="desktop", session_key="", label="TOC desktop app on Linux")
    presence_services.connect_client(user=alice, channel_name="other", session_key="", label="Edge on Windows")

    # when
    page = text(client_of(bob).get(DEVICES))

    # then
    assert '<span class="device-name">TOC desktop app on Linux</span> <span class="badge">App sign-in</span>' in page
    assert "Edge on Windows" not in page
    assert page.count('/sign-out/"') == 2  # bob's own session only


def test_signing_another_device_out_ends_its_session_and_closes_its_sockets(
    bob: User, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    # given
    ended: list[tuple[int, str]] = []
    monkeypatch.setattr(
        "toc.accounts.profile.end_session", lambda user, session_key: ended.append((user.pk, session_key))
    )
    laptop = client_of(bob)
    key = session_key_of(laptop)
    here = client_of(bob)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = here.post(sign_out_url(key), headers=HTMX)

    # then
    assert response.status_code == 200
    assert '<p class="notice notice-success" role="status">That device was signed out.</p>' in text(response)
    assert not Session.objects.filter(session_key=key).exists()
    assert ended == [(bob.pk, key)]
    assert laptop.get(DEVICES)["Location"] == "/login/?next=%2Fselfcare%2Fdevices%2F"
    assert here.get(DEVICES).status_code == 200


def test_signing_a_device_out_without_javascript_redirects_with_a_message(bob: User) -> None:
    laptop = client_of(bob)

    response = client_of(bob).post(sign_out_url(session_key_of(laptop)), follow=True)

    assert response.redirect_chain == [(DEVICES, 302)]
    assert "That device was signed out." in text(response)
    assert laptop.get(VOICEMAIL).status_code == 302


def test_signing_this_device_out_goes_to_sign_in(bob: User) -> None:
    client = client_of(bob)
    key = session_key_of(client)

    response = client.post(sign_out_url(key))

    assert (response.status_code, response["Location"]) == (302, "/login/")
    assert not Session.objects.filter(session_key=key).exists()
    assert client.get(DEVICES).status_code == 302


def test_signing_this_device_out_with_htmx_redirects_the_page(bob: User) -> None:
    client = client_of(bob)

    response = client.post(sign_out_url(session_key_of(client)), headers=HTMX)

    assert (response.status_code, response["HX-Redirect"]) == (204, "/login/")
    assert client.get(DEVICES).status_code == 302


def test_another_users_session_is_not_found_and_stays_signed_in(
    alice: User, bob: User, carol: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    ended: list[str] = []
    monkeypatch.setattr("toc.accounts.profile.end_session", lambda user, session_key: ended.append(session_key))
    others = {"bob": client_of(bob), "carol": client_of(carol)}
    sessions_before = Session.objects.count()

    for other in others.values():
        # when alice tries to sign out a colleague's or another company's session
        response = client_of(alice).post(sign_out_url(session_key_of(other)))

        # then
        assert response.status_code == 404
        assert other.get(DEVICES).status_code == 200
    assert client_of(alice).post(sign_out_url("no-such-session")).status_code == 404
    assert Session.objects.count() == sessions_before + 3  # the three clients alice used
    assert ended == []


def test_changing_the_mobile_number_stores_it_as_e164(bob: User) -> None:
    response = client_of(bob).post("/selfcare/devices/mobile/", {"mobile_number": "(416) 555-0199"}, headers=HTMX)

    assert response.status_code == 200
    assert text(response).startswith('<form class="card" id="devices-mobile"')
    assert '<p class="notice notice-success" role="status">Mobile number saved.</p>' in text(response)
    assert 'value="(416) 555-0199"' in text(response)
    bob.refresh_from_db()
    assert bob.mobile_number == "+14165550199"


def test_clearing_the_mobile_number(bob: User) -> None:
    account_services.update_preferences(user=bob, mobile_number="+14165550199")

    response = client_of(bob).post("/selfcare/devices/mobile/", {"mobile_number": ""}, follow=True)

    assert response.redirect_chain == [(DEVICES, 302)]
    assert "Mobile number removed." in text(response)
    bob.refresh_from_db()
    assert bob.mobile_number == ""


def test_a_bad_mobile_number_is_refused_next_to_its_field_and_nothing_changes(bob: User) -> None:
    account_services.update_preferences(user=bob, mobile_number="+14165550199")

    response = client_of(bob).post("/selfcare/devices/mobile/", {"mobile_number": "12"})

    assert response.status_code == 422
    assert '<p class="field-error" id="mobile_number-error">“12” is not a valid phone number.' in text(response)
    assert 'value="12"' in text(response)
    bob.refresh_from_db()
    assert bob.mobile_number == "+14165550199"


def test_the_mobile_number_cannot_be_cleared_while_it_is_the_calling_device(bob: User) -> None:
    account_services.update_preferences(user=bob, calling_device=CallingDevice.MOBILE, mobile_number="+14165550199")

    response = client_of(bob).post("/selfcare/devices/mobile/", {"mobile_number": " "}, headers=HTMX)

    assert response.status_code == 422
    assert "Enter your mobile number to use Mobile as your calling device." in text(response)
    bob.refresh_from_db()
    assert bob.mobile_number == "+14165550199"


def test_a_session_without_an_open_window_shows_the_device_it_signed_in_from(alice: User) -> None:
    # given alice signed in with a password from Firefox on Windows, and now looks from another browser
    firefox = Client(HTTP_USER_AGENT="Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0")
    response = firefox.post("/login/password/", {"email": alice.email, "password": PASSWORD})
    assert response.status_code == 302
    here = Client()
    here.force_login(alice)

    # when
    page = here.get("/selfcare/devices/").content.decode()

    # then
    assert '<span class="device-name">Firefox on Windows</span>' in page


def test_a_form_sent_after_the_session_ended_signs_in_and_comes_back_to_its_page(bob: User) -> None:
    # given a browser whose session ended (signed out from another device)
    anonymous = Client()

    # when it sends the PIN form, plainly and with htmx
    plain = anonymous.post("/selfcare/voicemail/pin/", {"pin": "2468", "pin_again": "2468"})
    htmx = anonymous.post(
        "/selfcare/voicemail/pin/",
        {"pin": "2468"},
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/selfcare/voicemail/"},
    )

    # then both go to the sign-in, which comes back to a page (not to the form's address)
    assert (plain.status_code, plain["Location"]) == (302, "/login/?next=%2Fselfcare%2F")
    assert (htmx.status_code, htmx["HX-Redirect"]) == (204, "/login/?next=%2Fselfcare%2Fvoicemail%2F")


def test_visiting_the_sign_in_page_with_next_stores_nothing_until_a_sign_in_is_sent(bob: User) -> None:
    completed(bob)

    # when a visitor (a link preview, a crawler) opens a portal link
    visitor = Client()
    first = visitor.get("/selfcare/devices/")
    page = visitor.get(first["Location"])

    # then no session is stored, and the sign-in choices carry next along
    assert Session.objects.count() == 0
    assert 'href="/login/password/?next=/selfcare/devices/"' in page.content.decode()

    # when bob signs in from there, he lands on the page
    signed_in = visitor.post(
        "/login/password/", {"email": bob.email, "password": PASSWORD, "next": "/selfcare/devices/"}
    )
    assert (signed_in.status_code, signed_in["Location"]) == (302, "/selfcare/devices/")


def test_with_htmx_an_already_ended_session_refreshes_the_list_and_ends_nothing(alice: User, bob: User) -> None:
    # given bob's session, which alice's list cannot name
    bob_browser = client_of(bob)

    # when alice's page (htmx) sends the sign-out of an id that is not one of hers
    response = client_of(alice).post(sign_out_url(session_key_of(bob_browser)), headers=HTMX)

    # then her list comes back as it is now, saying so, and bob stays signed in
    assert response.status_code == 200
    assert "That device had already signed out." in text(response)
    assert bob_browser.get(DEVICES).status_code == 200
