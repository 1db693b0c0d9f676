"""The accounts REST API: who am I, preferences, API tokens, and who may call them."""

import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.conftest import client_for
from tests.factories import PASSWORD
from toc.accounts.models import CallingDevice, User

WRONG_PASSWORD_MESSAGE = "The e-mail address or password is not correct."


def preferences_of(user: User) -> tuple[str, str]:
    stored = User.objects.get(pk=user.pk)
    return stored.calling_device, stored.mobile_number


@pytest.fixture
def operator(db: None) -> User:
    return User.objects.create_superuser("operator@toc.example", PASSWORD)


# /api/me/


def test_me_describes_the_signed_in_user(alice: User, alice_client: APIClient):
    # when
    response = alice_client.get("/api/me/")

    # then
    assert response.status_code == 200
    assert response.json() == {
        "id": alice.pk,
        "email": "alice@acme.example",
        "name": "Alice Tester",
        "first_name": "Alice",
        "last_name": "Tester",
        "extension": "101",
        "direct_number": "+14165550101",
        "direct_number_display": "(416) 555-0101",
        "mobile_number": "",
        "calling_device": "softphone",
        "phone_dnd": False,
        "roles": ["user", "admin"],
        "organisation": {"id": alice.organisation_id, "name": "Acme", "licence_tier": "starter"},
        "profile_completed": False,
    }


def test_me_shows_each_user_themselves(bob: User, bob_client: APIClient, carol: User, carol_client: APIClient):
    # when
    bob_me = bob_client.get("/api/me/").json()
    carol_me = carol_client.get("/api/me/").json()

    # then
    assert (bob_me["id"], bob_me["roles"], bob_me["organisation"]["name"]) == (bob.pk, ["user"], "Acme")
    assert (carol_me["id"], carol_me["organisation"]["name"]) == (carol.pk, "Globex")


# PATCH /api/me/preferences/


def test_preferences_change_device_and_mobile(alice: User, alice_client: APIClient):
    # when
    response = alice_client.patch(
        "/api/me/preferences/", {"calling_device": "mobile", "mobile_number": "416-555-0177"}, format="json"
    )

    # then
    assert response.status_code == 200
    assert (response.json()["calling_device"], response.json()["mobile_number"]) == ("mobile", "+14165550177")
    assert preferences_of(alice) == ("mobile", "+14165550177")


def test_preferences_refuse_an_unknown_device(alice: User, alice_client: APIClient):
    # when
    response = alice_client.patch("/api/me/preferences/", {"calling_device": "fax"}, format="json")

    # then
    assert response.status_code == 400
    assert response.json() == {
        "detail": "The request was not valid.",
        "errors": {"calling_device": ['"fax" is not a valid choice.']},
    }
    assert preferences_of(alice) == ("softphone", "")


def test_preferences_refuse_a_bad_number(alice: User, alice_client: APIClient):
    # when
    response = alice_client.patch(
        "/api/me/preferences/", {"calling_device": "deskphone", "mobile_number": "555"}, format="json"
    )

    # then
    assert response.status_code == 400
    assert response.json() == {
        "detail": "The request was not valid.",
        "errors": {"mobile_number": ["“555” is not a valid phone number. Use a full number, e.g. +1 416 555 0123."]},
    }
    assert preferences_of(alice) == ("softphone", "")


def test_preferences_refuse_mobile_without_a_number(alice: User, alice_client: APIClient):
    # when
    response = alice_client.patch("/api/me/preferences/", {"calling_device": "mobile"}, format="json")

    # then
    assert response.status_code == 400
    assert response.json() == {
        "detail": "The request was not valid.",
        "errors": {"mobile_number": ["Enter your mobile number to use Mobile as your calling device."]},
    }
    assert preferences_of(alice) == ("softphone", "")


def test_preferences_refuse_a_malformed_json_body(alice: User, alice_client: APIClient):
    # when
    response = alice_client.patch("/api/me/preferences/", data='{"calling_device": ', content_type="application/json")

    # then
    assert response.status_code == 400
    assert response.json() == {"detail": "JSON parse error - Expecting value: line 1 column 20 (char 19)"}
    assert preferences_of(alice) == ("softphone", "")


def test_preferences_refuse_a_body_that_is_not_an_object(alice: User, alice_client: APIClient):
    # when
    response = alice_client.patch("/api/me/preferences/", data='["mobile"]', content_type="application/json")

    # then
    assert response.status_code == 400
    assert response.json() == {
        "detail": "The request was not valid.",
        "errors": {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]},
    }
    assert preferences_of(alice) == ("softphone", "")


# POST /api/auth/token/


def test_a_token_is_issued_for_the_right_password_and_works(alice: User, anonymous_client: APIClient):
    # when
    response = anonymous_client.post(
        "/api/auth/token/", {"email": "alice@acme.example", "password": PASSWORD}, format="json"
    )

    # then
    assert response.status_code == 201
    key = response.json()["token"]
    assert Token.objects.get(user=alice).key == key
    me = APIClient().get("/api/me/", HTTP_AUTHORIZATION=f"Token {key}")
    assert (me.status_code, me.json()["id"]) == (200, alice.pk)


def test_asking_twice_returns_the_same_token(alice: User, anonymous_client: APIClient):
    # given
    credentials = {"email": "alice@acme.example", "password": PASSWORD}
    first = anonymous_client.post("/api/auth/token/", credentials, format="json").json()["token"]

    # when
    second = anonymous_client.post("/api/auth/token/", credentials, format="json").json()["token"]

    # then
    assert second == first
    assert Token.objects.count() == 1


def test_a_wrong_password_gets_no_token(alice: User, anonymous_client: APIClient):
    # when
    response = anonymous_client.post(
        "/api/auth/token/", {"email": "alice@acme.example", "password": "not my password"}, format="json"
    )

    # then
    assert response.status_code == 400
    assert response.json() == {"detail": WRONG_PASSWORD_MESSAGE}
    assert Token.objects.count() == 0


def test_a_malformed_token_request_is_refused_with_field_messages(alice: User, anonymous_client: APIClient):
    # when
    response = anonymous_client.post("/api/auth/token/", {"email": "alice"}, format="json")

    # then
    assert response.status_code == 400
    assert response.json() == {
        "detail": "The request was not valid.",
        "errors": {"email": ["Enter a valid email address."], "password": ["This field is required."]},
    }
    assert Token.objects.count() == 0


def test_a_throttled_token_request_gets_429_with_retry_after(alice: User, anonymous_client: APIClient):
    # given
    for _ in range(settings.LOGIN_FAILURES_BEFORE_DELAY):
        anonymous_client.post("/api/auth/token/", {"email": "alice@acme.example", "password": "nope"}, format="json")

    # when
    response = anonymous_client.post(
        "/api/auth/token/", {"email": "alice@acme.example", "password": PASSWORD}, format="json"
    )

    # then
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response.json() == {"detail": "Too many failed sign-ins. Wait 1 second(s) and try again."}
    assert Token.objects.count() == 0


def test_an_operator_without_organisation_gets_no_token(operator: User, anonymous_client: APIClient):
    # when
    response = anonymous_client.post(
        "/api/auth/token/", {"email": "operator@toc.example", "password": PASSWORD}, format="json"
    )

    # then
    assert response.status_code == 400
    assert response.json() == {"detail": WRONG_PASSWORD_MESSAGE}
    assert Token.objects.count() == 0


def test_a_token_of_a_deactivated_user_stops_working(alice: User):
    # given
    token = Token.objects.create(user=alice)
    User.objects.filter(pk=alice.pk).update(is_active=False)

    # when
    response = APIClient().get("/api/me/", HTTP_AUTHORIZATION=f"Token {token.key}")

    # then
    assert response.status_code == 403
    assert response.json() == {"detail": "User inactive or deleted."}


# Who may call what


MEMBER_ONLY = [
    ("get", "/api/me/", None),
    ("patch", "/api/me/preferences/", {"calling_device": "deskphone"}),
]


@pytest.mark.parametrize(("method", "path", "body"), MEMBER_ONLY)
def test_anonymous_callers_are_refused(alice: User, anonymous_client: APIClient, method: str, path: str, body):
    # when
    response = getattr(anonymous_client, method)(path, body, format="json")

    # then
    assert response.status_code == 403
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert preferences_of(alice) == ("softphone", "")


@pytest.mark.parametrize(("method", "path", "body"), MEMBER_ONLY)
def test_operators_without_organisation_are_refused(operator: User, method: str, path: str, body):
    # when
    response = getattr(client_for(operator), method)(path, body, format="json")

    # then
    assert response.status_code == 403
    assert response.json() == {"detail": "Only members of an organisation can use TOC."}
    assert preferences_of(operator) == ("softphone", "")


@pytest.mark.parametrize(("method", "path", "body"), MEMBER_ONLY)
def test_a_wrong_token_is_refused(alice: User, method: str, path: str, body):
    # when
    response = getattr(APIClient(), method)(path, body, format="json", HTTP_AUTHORIZATION="Token not-a-token")

    # then
    assert response.status_code == 403
    assert response.json() == {"detail": "Invalid token."}
    assert preferences_of(alice) == ("softphone", "")


def test_preferences_change_only_the_callers_own(alice: User, bob: User, bob_client: APIClient):
    # when
    bob_client.patch("/api/me/preferences/", {"calling_device": CallingDevice.DESKPHONE}, format="json")

    # then
    assert preferences_of(bob) == ("deskphone", "")
    assert preferences_of(alice) == ("softphone", "")
