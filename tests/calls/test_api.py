"""The calls REST API: live calls, ICE servers with TURN credentials, and history, across personas."""

import base64
import hashlib
import hmac
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.calls.conftest import OFFER, online
from toc.accounts.models import User
from toc.calls import services
from toc.calls.models import CallRecord
from toc.media.models import MediaWorker

pytestmark = pytest.mark.django_db


def ended_call(caller: User, callee: User) -> None:
    online(callee)
    call = services.place_call(user=caller, channel_name="socket.x", destination=callee.extension, sdp=OFFER)
    services.hang_up(user=caller, call_id=call.pk)


@pytest.mark.parametrize("path", ["/api/calls/active/", "/api/calls/ice-servers/", "/api/calls/history/"])
def test_anonymous_is_refused(anonymous_client: APIClient, path: str) -> None:
    assert anonymous_client.get(path).status_code in (401, 403)


def test_active_calls_show_only_my_live_calls(
    alice: User,
    bob: User,
    carol: User,
    alice_client: APIClient,
    bob_client: APIClient,
    carol_client: APIClient,
    worker: MediaWorker,
    commands: list[dict[str, Any]],
) -> None:
    # given
    online(bob)
    call = services.place_call(user=alice, channel_name="socket.a", destination="102", sdp=OFFER)

    # when
    mine = alice_client.get("/api/calls/active/").json()
    theirs = bob_client.get("/api/calls/active/").json()
    strangers = carol_client.get("/api/calls/active/").json()

    # then
    assert [(row["id"], row["direction"], row["state"], row["counterpart"]) for row in mine] == [
        (str(call.pk), "outgoing", "ringing", {"name": "Bob Tester", "number": "102", "user_id": bob.pk})
    ]
    assert mine[0]["leg_id"] is not None
    assert [(row["direction"], row["leg_id"], row["counterpart"]["number"]) for row in theirs] == [
        ("incoming", None, "101")
    ]
    assert strangers == []


def test_ice_servers_are_empty_by_default(alice_client: APIClient) -> None:
    assert alice_client.get("/api/calls/ice-servers/").json() == {"ice_servers": []}


def test_turn_credentials_are_time_limited_and_signed(alice: User, alice_client: APIClient, settings: Any) -> None:
    # given
    settings.ICE_SERVERS = ["stun:turn.example:3478", "turn:turn.example:3478?transport=udp"]
    settings.TURN_SECRET = "s3cret"
    settings.TURN_CREDENTIAL_SECONDS = 3600

    # when
    servers = alice_client.get("/api/calls/ice-servers/").json()["ice_servers"]

    # then
    assert servers[0] == {"urls": ["stun:turn.example:3478"]}
    turn = servers[1]
    assert turn["urls"] == ["turn:turn.example:3478?transport=udp"]
    expiry, user_id = turn["username"].split(":")
    assert user_id == str(alice.pk)
    assert int(expiry) > 0
    expected = base64.b64encode(hmac.new(b"s3cret", turn["username"].encode(), hashlib.sha1).digest()).decode()
    assert turn["credential"] == expected


def test_turn_without_a_secret_is_not_offered(alice_client: APIClient, settings: Any) -> None:
    settings.ICE_SERVERS = ["turn:turn.example:3478"]
    settings.TURN_SECRET = ""
    assert alice_client.get("/api/calls/ice-servers/").json() == {"ice_servers": []}


def test_history_is_mine_with_a_missed_badge(
    alice: User,
    bob: User,
    alice_client: APIClient,
    bob_client: APIClient,
    carol_client: APIClient,
    worker: MediaWorker,
    commands: list[dict[str, Any]],
) -> None:
    # given: alice called bob and cancelled: outgoing for her, missed for him
    ended_call(alice, bob)

    # when
    alices = alice_client.get("/api/calls/history/").json()
    bobs = bob_client.get("/api/calls/history/").json()
    bobs_missed = bob_client.get("/api/calls/history/?missed=true").json()

    # then
    assert [(row["direction"], row["outcome"], row["counterpart"]["number"]) for row in alices["results"]] == [
        ("outgoing", "cancelled", "102")
    ]
    assert alices["missed_unseen"] == 0
    assert [(row["direction"], row["duration_seconds"]) for row in bobs["results"]] == [("missed", 0)]
    assert bobs["missed_unseen"] == 1
    assert len(bobs_missed["results"]) == 1
    assert carol_client.get("/api/calls/history/").json() == {"results": [], "missed_unseen": 0}


def test_seeing_missed_calls_clears_the_badge(
    alice: User, bob: User, bob_client: APIClient, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    ended_call(alice, bob)

    # when
    response = bob_client.post("/api/calls/history/seen/")

    # then
    assert response.status_code == 204
    assert bob_client.get("/api/calls/history/").json()["missed_unseen"] == 0


def test_deleting_history_lines(
    alice: User,
    bob: User,
    alice_client: APIClient,
    bob_client: APIClient,
    worker: MediaWorker,
    commands: list[dict[str, Any]],
) -> None:
    # given
    ended_call(alice, bob)
    ended_call(alice, bob)
    alices = list(CallRecord.objects.filter(owner=alice).values_list("pk", flat=True))
    bobs = list(CallRecord.objects.filter(owner=bob).values_list("pk", flat=True))

    # when / then: someone else's line is not found and stays
    assert bob_client.delete(f"/api/calls/history/{alices[0]}/").status_code == 404
    assert CallRecord.objects.filter(pk=alices[0]).exists()
    assert alice_client.delete(f"/api/calls/history/{alices[0]}/").status_code == 204
    assert list(CallRecord.objects.filter(owner=alice).values_list("pk", flat=True)) == alices[1:]
    # clearing mine leaves bob's
    assert alice_client.delete("/api/calls/history/").status_code == 204
    assert not CallRecord.objects.filter(owner=alice).exists()
    assert sorted(CallRecord.objects.filter(owner=bob).values_list("pk", flat=True)) == sorted(bobs)
