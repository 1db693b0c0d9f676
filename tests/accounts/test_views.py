"""The Profile Wizard as a browser walks it: welcome, sign-in, Phones, Finish, communicator."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from tests.factories import PASSWORD
from toc.accounts import services
from toc.accounts.models import CallingDevice, User

WRONG_PASSWORD_MESSAGE = "The e-mail address or password is not correct."


def sign_in(client: Client, email: str, password: str = PASSWORD, *, keep: bool = True):
    data = {"email": email, "password": password}
    if keep:
        data["keep_signed_in"] = "on"
    return client.post("/login/password/", data)


def completed(user: User) -> User:
    return services.complete_profile(user=user, calling_device=CallingDevice.SOFTPHONE, mobile_number="")


def test_welcome_leads_to_the_login_method_page(db: None):
    # when
    response = Client().get("/welcome/")

    # then
    assert response.status_code == 200
    assert b"Welcome to TOC" in response.content
    assert b'href="/login/"' in response.content


def test_the_login_method_page_offers_password_and_sso_login(db: None):
    # when
    response = Client().get("/login/")

    # then
    assert response.status_code == 200
    assert b'href="/login/password/"' in response.content
    assert b"Password Login" in response.content
    assert b'href="/login/sso/"' in response.content
    assert b"SSO Login" in response.content


def test_a_wrong_password_shows_a_clear_message_and_signs_nobody_in(alice: User):
    # given
    client = Client()

    # when
    response = sign_in(client, "alice@acme.example", "not my password")

    # then
    assert response.status_code == 400
    assert WRONG_PASSWORD_MESSAGE.encode() in response.content
    assert b'value="alice@acme.example"' in response.content
    assert "_auth_user_id" not in client.session


def test_signing_in_for_the_first_time_leads_to_the_phones_step(alice: User):
    # given
    client = Client()

    # when
    response = sign_in(client, "alice@acme.example")

    # then
    assert response.status_code == 302
    assert response.headers["Location"] == "/wizard/phones/"
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_the_whole_wizard_ends_in_the_communicator(alice: User):
    # given
    client = Client()
    sign_in(client, "alice@acme.example")

    # when
    phones = client.get("/wizard/phones/")
    saved = client.post("/wizard/phones/", {"calling_device": "deskphone", "mobile_number": "416 555 0177"})
    finish = client.get("/wizard/finish/")
    finished = client.post("/wizard/finish/")
    communicator = client.get("/")

    # then
    assert phones.status_code == 200
    assert (saved.status_code, saved.headers["Location"]) == (302, "/wizard/finish/")
    assert finish.status_code == 200
    assert b"Alice Tester" in finish.content
    assert (finished.status_code, finished.headers["Location"]) == (302, "/")
    assert communicator.status_code == 200
    assert b'id="app"' in communicator.content
    stored = User.objects.get(pk=alice.pk)
    assert (stored.calling_device, stored.mobile_number) == ("deskphone", "+14165550177")
    assert stored.profile_completed_at is not None


def test_an_invalid_mobile_on_the_phones_step_is_refused_and_nothing_saved(alice: User):
    # given
    client = Client()
    sign_in(client, "alice@acme.example")

    # when
    response = client.post("/wizard/phones/", {"calling_device": "deskphone", "mobile_number": "555"})

    # then
    assert response.status_code == 400
    assert "“555” is not a valid phone number. Use a full number, e.g. +1 416 555 0123.".encode() in response.content
    stored = User.objects.get(pk=alice.pk)
    assert (stored.calling_device, stored.mobile_number) == ("softphone", "")
    assert stored.profile_completed_at is None


def test_mobile_without_a_number_is_refused_on_the_phones_step(alice: User):
    # given
    client = Client()
    sign_in(client, "alice@acme.example")

    # when
    response = client.post("/wizard/phones/", {"calling_device": "mobile", "mobile_number": ""})

    # then
    assert response.status_code == 400
    assert b"Enter your mobile number to use Mobile as your calling device." in response.content
    assert User.objects.get(pk=alice.pk).calling_device == "softphone"


def test_no_device_chosen_is_refused_on_the_phones_step(alice: User):
    # given
    client = Client()
    sign_in(client, "alice@acme.example")

    # when
    response = client.post("/wizard/phones/", {"mobile_number": ""})

    # then
    assert response.status_code == 400
    assert b"Choose a calling device." in response.content
    assert User.objects.get(pk=alice.pk).calling_device == "softphone"


def test_the_communicator_sends_an_unfinished_profile_back_to_the_wizard(alice: User):
    # given
    client = Client()
    sign_in(client, "alice@acme.example")

    # when
    response = client.get("/")

    # then
    assert (response.status_code, response.headers["Location"]) == (302, "/wizard/phones/")


def test_a_second_visit_to_welcome_goes_straight_in(alice: User):
    # given
    completed(alice)
    client = Client()
    sign_in(client, "alice@acme.example")

    # when
    welcome = client.get("/welcome/")
    login_method = client.get("/login/")

    # then
    assert (welcome.status_code, welcome.headers["Location"]) == (302, "/")
    assert (login_method.status_code, login_method.headers["Location"]) == (302, "/")


def test_signing_in_with_a_completed_profile_goes_to_the_communicator(alice: User):
    # given
    completed(alice)

    # when
    response = sign_in(Client(), "alice@acme.example")

    # then
    assert (response.status_code, response.headers["Location"]) == (302, "/")


def test_without_keep_me_signed_in_the_session_ends_with_the_browser(alice: User):
    # given
    client = Client()

    # when
    response = sign_in(client, "alice@acme.example", keep=False)

    # then
    assert client.session.get_expire_at_browser_close() is True
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert (cookie["max-age"], cookie["expires"]) == ("", "")


def test_keep_me_signed_in_gives_a_lasting_session(alice: User):
    # given
    client = Client()

    # when
    response = sign_in(client, "alice@acme.example", keep=True)

    # then
    assert client.session.get_expire_at_browser_close() is False
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE
    assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == settings.SESSION_COOKIE_AGE


def test_logout_ends_the_session(alice: User):
    # given
    completed(alice)
    client = Client()
    sign_in(client, "alice@acme.example")

    # when
    response = client.post("/logout/")

    # then
    assert (response.status_code, response.headers["Location"]) == (302, "/login/")
    assert "_auth_user_id" not in client.session
    assert client.get("/").headers["Location"] == "/welcome/"


def test_logout_is_post_only(alice: User):
    # given
    completed(alice)
    client = Client()
    sign_in(client, "alice@acme.example")

    # when
    response = client.get("/logout/")

    # then
    assert response.status_code == 405
    assert client.get("/").status_code == 200


def test_a_throttled_login_shows_the_wait_message_with_429(alice: User):
    # given
    client = Client()
    for _ in range(settings.LOGIN_FAILURES_BEFORE_DELAY):
        assert sign_in(client, "alice@acme.example", "not my password").status_code == 400

    # when
    response = sign_in(client, "alice@acme.example")

    # then
    assert response.status_code == 429
    assert b"Too many failed sign-ins. Wait 1 second(s) and try again." in response.content
    assert "_auth_user_id" not in client.session


def test_without_a_session_the_communicator_redirects_to_welcome(db: None):
    # when
    response = Client().get("/")

    # then
    assert (response.status_code, response.headers["Location"]) == (302, "/welcome/")


def test_an_expired_session_redirects_to_welcome(alice: User):
    # given a session that has run out
    completed(alice)
    client = Client()
    sign_in(client, "alice@acme.example")
    session = client.session
    session.set_expiry(timezone.now() - timedelta(seconds=1))
    session.save()

    # when
    response = client.get("/")

    # then
    assert (response.status_code, response.headers["Location"]) == (302, "/welcome/")


@pytest.mark.parametrize("path", ["/wizard/phones/", "/wizard/finish/"])
def test_wizard_steps_need_a_signed_in_member(db: None, path: str):
    # when
    response = Client().get(path)

    # then
    assert (response.status_code, response.headers["Location"]) == (302, "/welcome/")


def test_an_operator_without_organisation_is_not_let_into_the_communicator(db: None):
    # given
    operator = User.objects.create_superuser("operator@toc.example", PASSWORD)
    client = Client()
    client.force_login(operator)

    # when
    response = client.get("/")

    # then
    assert (response.status_code, response.headers["Location"]) == (302, "/welcome/")
