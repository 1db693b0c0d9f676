"""The call-handling REST API across personas: parked calls, conference rooms, a room's PIN.

Personas: alice (admin of Acme), bob (Acme), carol (Globex), anonymous."""

from typing import Any

import pytest
from django.contrib.auth.hashers import check_password
from rest_framework.test import APIClient

from tests.calls.conftest import OFFER, answered_call, everything
from toc.accounts.models import Organisation, User
from toc.calls import services
from toc.calls.models import Call, ConferenceRoom
from toc.media.models import MediaWorker

pytestmark = pytest.mark.django_db

NOT_SIGNED_IN = {"detail": "Authentication credentials were not provided."}


def parked(caller: User, callee: User) -> Call:
    call = answered_call(caller, callee)
    services.park_call(user=callee, call_id=call.pk)
    call.refresh_from_db()
    return call


def board_room(organisation: Organisation, *, owner: User | None = None, pin: str = "") -> ConferenceRoom:
    return services.create_room(
        organisation_id=organisation.pk, name="Board room", extension="701", owner=owner, pin=pin
    )


# --- GET /api/calls/parked/ -----------------------------------------------------------------


def test_parked_calls_across_personas(
    alice: User,
    bob: User,
    carol: User,
    dave: User,
    alice_client: APIClient,
    bob_client: APIClient,
    carol_client: APIClient,
    anonymous_client: APIClient,
    worker: MediaWorker,
    commands: list[dict[str, Any]],
) -> None:
    # given bob parked dave's call at 601
    call = parked(dave, bob)
    assert call.park_deadline is not None
    expected = [
        {
            "slot": "601",
            "caller": {"name": "Dave Tester", "number": "103"},
            "parked_by": "Bob Tester",
            "ring_back_at": call.park_deadline.isoformat(),
        }
    ]

    # when
    responses = [client.get("/api/calls/parked/") for client in (alice_client, bob_client, carol_client)]
    anonymous = anonymous_client.get("/api/calls/parked/")

    # then the organisation sees it, another organisation sees nothing, anonymous is refused
    assert [(response.status_code, response.json()) for response in responses] == [
        (200, expected),
        (200, expected),
        (200, []),
    ]
    assert (anonymous.status_code, anonymous.json()) == (403, NOT_SIGNED_IN)


def test_the_parked_list_is_empty_after_the_pickup(
    alice: User, bob: User, dave: User, bob_client: APIClient, worker: MediaWorker, commands: list[Any]
) -> None:
    # given
    parked(dave, bob)
    services.place_call(user=alice, channel_name="socket.alice", destination="601", sdp=OFFER)

    # when
    response = bob_client.get("/api/calls/parked/")

    # then
    assert (response.status_code, response.json()) == (200, [])


# --- GET /api/conference/rooms/ -------------------------------------------------------------


def test_conference_rooms_across_personas(
    alice: User,
    bob: User,
    carol: User,
    acme: Organisation,
    globex: Organisation,
    alice_client: APIClient,
    bob_client: APIClient,
    carol_client: APIClient,
    anonymous_client: APIClient,
) -> None:
    # given a room in each organisation, at the same extension
    acme_room = board_room(acme, owner=bob, pin="4321")
    globex_room = services.create_room(organisation_id=globex.pk, name="Globex hall", extension="701")
    acme_row = {
        "id": acme_room.pk,
        "name": "Board room",
        "extension": "701",
        "has_pin": True,
        "owner": "Bob Tester",
    }

    # when
    responses = [client.get("/api/conference/rooms/") for client in (alice_client, bob_client, carol_client)]
    anonymous = anonymous_client.get("/api/conference/rooms/")

    # then each organisation sees its own rooms; only admins may change a PIN
    assert [(response.status_code, response.json()) for response in responses] == [
        (200, [{**acme_row, "can_change_pin": True}]),
        (200, [{**acme_row, "can_change_pin": False}]),
        (
            200,
            [
                {
                    "id": globex_room.pk,
                    "name": "Globex hall",
                    "extension": "701",
                    "has_pin": False,
                    "owner": None,
                    "can_change_pin": False,
                }
            ],
        ),
    ]
    assert (anonymous.status_code, anonymous.json()) == (403, NOT_SIGNED_IN)


# --- PUT /api/conference/rooms/<id>/pin/ ------------------------------------------------------


def test_an_admin_sets_a_rooms_pin(alice: User, acme: Organisation, alice_client: APIClient) -> None:
    # given
    room = board_room(acme)

    # when
    response = alice_client.put(f"/api/conference/rooms/{room.pk}/pin/", {"pin": "86427531"}, format="json")

    # then
    room.refresh_from_db()
    assert (response.status_code, response.json()) == (
        200,
        {
            "id": room.pk,
            "name": "Board room",
            "extension": "701",
            "has_pin": True,
            "owner": None,
            "can_change_pin": True,
        },
    )
    assert "86427531" not in room.pin_hash
    assert check_password("86427531", room.pin_hash) is True


def test_an_admin_clears_a_rooms_pin(alice: User, acme: Organisation, alice_client: APIClient) -> None:
    # given
    room = board_room(acme, pin="4321")

    # when
    response = alice_client.put(f"/api/conference/rooms/{room.pk}/pin/", {"pin": ""}, format="json")

    # then
    room.refresh_from_db()
    assert (response.status_code, response.json()["has_pin"], room.pin_hash) == (200, False, "")


@pytest.mark.parametrize(
    ("persona", "status", "body"),
    [
        ("bob_client", 403, {"detail": "Only an admin can change a conference room's PIN."}),
        ("carol_client", 403, {"detail": "Only an admin can change a conference room's PIN."}),
        ("anonymous_client", 403, NOT_SIGNED_IN),
    ],
)
def test_only_an_admin_of_the_organisation_sets_a_pin(
    alice: User,
    bob: User,
    carol: User,
    acme: Organisation,
    request: pytest.FixtureRequest,
    persona: str,
    status: int,
    body: dict[str, Any],
) -> None:
    # given a room bob owns (carol is no admin: refused before the room is looked up)
    room = board_room(acme, owner=bob, pin="4321")
    client: APIClient = request.getfixturevalue(persona)
    before = everything()

    # when
    response = client.put(f"/api/conference/rooms/{room.pk}/pin/", {"pin": "1234"}, format="json")

    # then
    assert (response.status_code, response.json()) == (status, body)
    assert everything() == before


def test_an_admin_of_another_organisation_cannot_set_a_pin(
    acme: Organisation, globex: Organisation, carol: User
) -> None:
    # given carol is an admin of globex
    from tests.conftest import client_for

    User.objects.filter(pk=carol.pk).update(is_org_admin=True)
    room = board_room(acme, pin="4321")
    before = everything()

    # when
    response = client_for(User.objects.get(pk=carol.pk)).put(
        f"/api/conference/rooms/{room.pk}/pin/", {"pin": "1234"}, format="json"
    )

    # then
    assert (response.status_code, response.json()) == (404, {"detail": "That conference room does not exist."})
    assert everything() == before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"pin": "123"}, "A PIN is 4 to 8 digits (or empty for no PIN)."),
        ({"pin": "12ab"}, "A PIN is 4 to 8 digits (or empty for no PIN)."),
        ({"pin": "123456789"}, "Ensure this field has no more than 8 characters."),
        ({}, "This field is required."),
    ],
)
def test_invalid_pins_are_refused(
    alice: User, acme: Organisation, alice_client: APIClient, data: dict[str, Any], message: str
) -> None:
    # given
    room = board_room(acme, pin="4321")
    before = everything()

    # when
    response = alice_client.put(f"/api/conference/rooms/{room.pk}/pin/", data, format="json")

    # then
    assert (response.status_code, response.json()) == (
        400,
        {"detail": "The request was not valid.", "errors": {"pin": [message]}},
    )
    assert everything() == before


def test_an_unknown_room_is_not_found(alice: User, alice_client: APIClient) -> None:
    # when
    response = alice_client.put("/api/conference/rooms/999999/pin/", {"pin": "1234"}, format="json")

    # then
    assert (response.status_code, response.json()) == (404, {"detail": "That conference room does not exist."})
