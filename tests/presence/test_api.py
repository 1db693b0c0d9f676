"""The presence REST API: read and set my own presence, and who may call it."""

import pytest
from rest_framework.test import APIClient

from tests.conftest import client_for
from tests.factories import PASSWORD
from toc.accounts.models import User
from toc.presence import services
from toc.presence.models import Presence


def stored(user: User) -> tuple[str, str] | None:
    presence = Presence.objects.filter(user=user).first()
    return (presence.status, presence.custom_text) if presence else None


def test_my_presence_starts_available_and_offline_without_a_socket(alice: User, alice_client: APIClient):
    # when
    response = alice_client.get("/api/presence/")

    # then
    assert response.status_code == 200
    assert response.json() == {
        "user_id": alice.pk,
        "status": "offline",
        "chosen_status": "available",
        "status_label": "Offline",
        "custom_text": "",
        "expires_at": None,
        "is_online": False,
    }


def test_setting_my_presence_stores_it_and_returns_it(alice: User, alice_client: APIClient):
    # given
    services.connect_client(user=alice, channel_name="alice-tab", session_key="")

    # when
    response = alice_client.put(
        "/api/presence/", {"status": "in_a_meeting", "duration": "until_changed", "custom_text": "Board"}, format="json"
    )

    # then
    assert response.status_code == 200
    assert response.json() == {
        "user_id": alice.pk,
        "status": "in_a_meeting",
        "chosen_status": "in_a_meeting",
        "status_label": "In a Meeting",
        "custom_text": "Board",
        "expires_at": None,
        "is_online": True,
    }
    assert stored(alice) == ("in_a_meeting", "Board")


def test_a_timed_presence_reports_its_expiry(alice: User, alice_client: APIClient):
    # when
    response = alice_client.put("/api/presence/", {"status": "busy", "duration": "1h"}, format="json")

    # then
    assert response.status_code == 200
    expires_at = Presence.objects.get(user=alice).expires_at
    assert expires_at is not None
    assert response.json()["expires_at"] == expires_at.isoformat()


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"status": "sleeping", "duration": "1h"}, {"status": ['"sleeping" is not a valid choice.']}),
        ({"status": "busy", "duration": "forever"}, {"duration": ['"forever" is not a valid choice.']}),
        ({"status": "busy"}, {"duration": ["This field is required."]}),
        (
            {"status": "busy", "duration": "1h", "custom_text": "x" * 81},
            {"custom_text": ["A custom status is at most 80 characters."]},
        ),
    ],
)
def test_invalid_presence_is_refused_and_nothing_changes(alice: User, alice_client: APIClient, body, errors):
    # given
    services.set_presence(user=alice, status="away", duration="until_changed")

    # when
    response = alice_client.put("/api/presence/", body, format="json")

    # then
    assert response.status_code == 400
    assert response.json() == {"detail": "The request was not valid.", "errors": errors}
    assert stored(alice) == ("away", "")


def test_setting_my_presence_changes_only_mine(alice: User, bob: User, bob_client: APIClient):
    # when
    bob_client.put("/api/presence/", {"status": "busy", "duration": "1h"}, format="json")

    # then
    assert stored(bob) == ("busy", "")
    assert stored(alice) is None


@pytest.mark.parametrize(("method", "body"), [("get", None), ("put", {"status": "busy", "duration": "1h"})])
def test_anonymous_callers_are_refused(alice: User, anonymous_client: APIClient, method: str, body):
    # when
    response = getattr(anonymous_client, method)("/api/presence/", body, format="json")

    # then
    assert response.status_code == 403
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert Presence.objects.count() == 0


@pytest.mark.parametrize(("method", "body"), [("get", None), ("put", {"status": "busy", "duration": "1h"})])
def test_operators_without_organisation_are_refused(db: None, method: str, body):
    # given
    operator = User.objects.create_superuser("operator@toc.example", PASSWORD)

    # when
    response = getattr(client_for(operator), method)("/api/presence/", body, format="json")

    # then
    assert response.status_code == 403
    assert response.json() == {"detail": "Only members of an organisation can use TOC."}
    assert Presence.objects.count() == 0
