"""The SMS API on the embedded default's local backend: threads, sending, pictures, refusals,
and that nobody reaches another person's thread."""

import datetime
import uuid
from typing import Any

from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import make_user
from tests.sms.conftest import open_thread, png, send, upload
from toc.accounts.access import organisation_id_of
from toc.accounts.models import Organisation, User
from toc.sms import services
from toc.sms.backends.local import NOT_SENT_REASON
from toc.sms.models import Media, Message, OptOut, Thread


def body_of(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def test_a_thread_opens_once_per_canadian_number(alice_client: APIClient) -> None:
    first = alice_client.post("/api/sms/threads/", {"to": "416 555 0199"}, format="json")
    again = alice_client.post("/api/sms/threads/", {"to": "+1 (416) 555-0199"}, format="json")
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert first.json() | {"id": None} == {
        "id": None,
        "remote_number": "+14165550199",
        "remote_display": "(416) 555-0199",
        "name": None,
        "local_number": "+14165550101",
        "unread_count": 0,
        "opted_out": False,
        "last_message": None,
        "last_message_at": None,
    }


def test_numbers_outside_canada_or_invalid_are_refused(alice_client: APIClient) -> None:
    cases = {
        "+1 212 555 0123": "SMS can only be sent to Canadian numbers.",
        "+44 20 7946 0958": "SMS can only be sent to Canadian numbers.",
        "123": "“123” is not a valid phone number. Use a full number, e.g. 416 555 0123.",
        "hello": "“hello” is not a phone number.",
        "": "Enter the cellphone number to text.",
        "416 555 0101": "That is your own number.",
    }
    for raw, message in cases.items():
        response = alice_client.post("/api/sms/threads/", {"to": raw}, format="json")
        assert response.status_code == 400, raw
        assert response.json()["errors"] == {"to": [message]}, raw
    assert Thread.objects.count() == 0


def test_a_user_without_a_direct_number_cannot_text(acme: Organisation) -> None:
    from tests.conftest import client_for

    dave = make_user(acme, "dave", extension="103")
    client = client_for(dave)
    listing = client.get("/api/sms/threads/").json()
    assert (listing["local_number"], listing["threads"], listing["carrier"]) == ("", [], "local")
    response = client.post("/api/sms/threads/", {"to": "416 555 0199"}, format="json")
    assert response.json()["errors"] == {"to": ["You have no direct number to send SMS from. Ask your administrator."]}


def test_a_text_is_kept_and_marked_not_sent_without_a_carrier(alice: User, alice_client: APIClient) -> None:
    thread_id = open_thread(alice_client)
    client_id = uuid.uuid4()
    created = send(alice_client, thread_id, "Your order is ready 🙂", client_id=client_id)
    repeated = send(alice_client, thread_id, "Your order is ready 🙂", client_id=client_id)
    assert (created.status_code, repeated.status_code) == (201, 200)
    message = created.json()
    assert repeated.json()["id"] == message["id"]
    assert (message["status"], message["status_label"], message["direction"]) == ("outbox", "Sending…", "outbound")
    assert (message["segments"], message["encoding"]) == (1, "UCS-2")

    assert services.hand_over_next(alice.direct_number) is True
    stored = Message.objects.get()
    assert (stored.status, stored.error_message, stored.backend) == ("not_sent", NOT_SENT_REASON, "local")
    page = alice_client.get(f"/api/sms/threads/{thread_id}/messages/").json()
    assert [m["status_label"] for m in page["messages"]] == ["Not sent — no SMS carrier is configured"]
    assert services.hand_over_next(alice.direct_number) is False


def test_bad_texts_are_refused_and_nothing_is_stored(alice_client: APIClient, settings: Any) -> None:
    thread_id = open_thread(alice_client)
    settings.SMS_MAX_MMS_BYTES = 1000
    cases: list[tuple[dict[str, Any], dict[str, list[str]]]] = [
        ({"body": "   "}, {"body": ["Write a message or attach a picture."]}),
        ({"body": "x" * 1601}, {"body": ["A message is at most 1600 characters."]}),
        (
            {"body": "", "media": upload("notes.png", b"just text, not a picture")},
            {"media": ["“notes.png” is not a JPEG, PNG or GIF picture; only those can be sent."]},
        ),
        (
            {"body": "", "media": upload("big.png", png(200, 200) + b"\0" * 2000)},
            {
                "media": [
                    f"The pictures add up to {round((len(png(200, 200)) + 2000) / 1024)} KB; an MMS can carry 1 KB."
                ]
            },
        ),
        ({"body": "hi", "client_id": "not-a-uuid"}, {"client_id": ["Must be a valid UUID."]}),
    ]
    for fields, errors in cases:
        response = alice_client.post(f"/api/sms/threads/{thread_id}/messages/", fields, format="multipart")
        assert response.status_code == 400, fields
        assert response.json()["errors"] == errors
    assert (Message.objects.count(), Media.objects.count()) == (0, 0)


def test_segments_follow_gsm7_and_ucs2(alice_client: APIClient) -> None:
    thread_id = open_thread(alice_client)
    cases = [("a" * 160, 1, "GSM-7"), ("a" * 161, 2, "GSM-7"), ("€" * 80, 1, "GSM-7"), ("€" * 81, 2, "GSM-7")]
    cases += [("é" * 160, 1, "GSM-7"), ("ê" * 70, 1, "UCS-2"), ("ê" * 71, 2, "UCS-2"), ("😀" * 35, 1, "UCS-2")]
    cases += [("😀" * 36, 2, "UCS-2")]
    for body, segments, encoding in cases:
        message = send(alice_client, thread_id, body).json()
        assert (message["segments"], message["encoding"]) == (segments, encoding), body[:3]


def test_a_picture_is_sent_as_mms_and_fetched_by_its_public_address(
    alice_client: APIClient, bob_client: APIClient
) -> None:
    thread_id = open_thread(alice_client)
    picture = png(4, 3)
    response = send(alice_client, thread_id, "", media=upload("map.png", picture))
    assert response.status_code == 201
    media = response.json()["media"]
    assert [(m["name"], m["content_type"], m["size"], m["ready"]) for m in media] == [
        ("map.png", "image/png", len(picture), True)
    ]
    own = alice_client.get(media[0]["url"])
    assert (own.status_code, body_of(own)) == (200, picture)
    assert bob_client.get(media[0]["url"]).status_code == 404
    token = Media.objects.get().public_token
    public = Client().get(f"/sms/media/{token}")
    assert (public.status_code, public["Content-Type"], body_of(public)) == (
        200,
        "image/png",
        picture,
    )
    assert Client().get("/sms/media/not-a-token").status_code == 404


def test_nobody_else_reaches_a_thread(
    alice_client: APIClient, bob_client: APIClient, carol_client: APIClient, anonymous_client: APIClient
) -> None:
    thread_id = open_thread(alice_client)
    send(alice_client, thread_id, "mine")
    for client in (bob_client, carol_client):
        assert client.get(f"/api/sms/threads/{thread_id}/").status_code == 404
        assert client.get(f"/api/sms/threads/{thread_id}/messages/").status_code == 404
        assert send(client, thread_id, "theirs").status_code == 404
        assert client.post(f"/api/sms/threads/{thread_id}/read/").status_code == 404
        assert client.get("/api/sms/threads/").json()["threads"] == []
    for path in ("", f"{thread_id}/", f"{thread_id}/messages/"):
        assert anonymous_client.get(f"/api/sms/threads/{path}").status_code == 403
    assert send(anonymous_client, thread_id, "anon").status_code == 403
    assert anonymous_client.post(f"/api/sms/threads/{thread_id}/read/").status_code == 403
    assert list(Message.objects.values_list("body", flat=True)) == ["mine"]


def test_nobody_else_gets_a_picture_or_marks_a_thread_read(
    alice: User, alice_client: APIClient, carol_client: APIClient, anonymous_client: APIClient
) -> None:
    thread_id = open_thread(alice_client)
    media_url = send(alice_client, thread_id, "", media=upload("a.png", png())).json()["media"][0]["url"]
    Thread.objects.filter(pk=thread_id).update(unread_count=2)
    assert carol_client.get(media_url).status_code == 404
    assert anonymous_client.get(media_url).status_code == 403
    assert carol_client.post(f"/api/sms/threads/{thread_id}/read/").status_code == 404
    assert Thread.objects.get(pk=thread_id).unread_count == 2


def test_a_public_picture_address_expires(alice_client: APIClient, settings: Any) -> None:
    thread_id = open_thread(alice_client)
    send(alice_client, thread_id, "", media=upload("a.png", png()))
    token = Media.objects.get().public_token
    assert Client().get(f"/sms/media/{token}").status_code == 200
    Message.objects.update(
        created_at=timezone.now() - datetime.timedelta(hours=settings.SMS_PUBLIC_MEDIA_HOURS, seconds=1)
    )
    assert Client().get(f"/sms/media/{token}").status_code == 404


def test_more_than_ten_pictures_are_refused(alice_client: APIClient) -> None:
    thread_id = open_thread(alice_client)
    response = send(alice_client, thread_id, "", media=[upload(f"{n}.png", png()) for n in range(11)])
    assert response.json()["errors"] == {"media": ["An MMS can carry at most 10 pictures."]}
    assert Media.objects.count() == 0


def test_an_opted_out_number_is_refused(alice: User, alice_client: APIClient) -> None:
    thread_id = open_thread(alice_client)
    OptOut.objects.create(
        organisation_id=organisation_id_of(alice), local_number=alice.direct_number, remote_number="+14165550199"
    )
    response = send(alice_client, thread_id, "Sale today!")
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "to": [
            "(416) 555-0199 has opted out of texts from your number (they replied STOP). "
            "They can reply START to opt back in."
        ]
    }
    assert alice_client.get(f"/api/sms/threads/{thread_id}/").json()["opted_out"] is True
    assert Message.objects.count() == 0


def test_threads_are_named_after_contacts_and_paged(alice: User, alice_client: APIClient) -> None:
    from toc.directory.models import Contact

    Contact.objects.create(
        owner=alice, organisation_id=organisation_id_of(alice), name="Jane Doe", mobile_number="+14165550199"
    )
    thread_id = open_thread(alice_client)
    ids = [send(alice_client, thread_id, f"m{n}").json()["id"] for n in range(5)]
    listing = alice_client.get("/api/sms/threads/").json()
    assert [(t["name"], t["last_message"]["body"]) for t in listing["threads"]] == [("Jane Doe", "m4")]
    newest = alice_client.get(f"/api/sms/threads/{thread_id}/messages/?limit=2").json()
    assert ([m["body"] for m in newest["messages"]], newest["has_more"]) == (["m3", "m4"], True)
    older = alice_client.get(f"/api/sms/threads/{thread_id}/messages/?limit=3&before={ids[3]}").json()
    assert ([m["body"] for m in older["messages"]], older["has_more"]) == (["m0", "m1", "m2"], False)
