"""Twilio's webhooks: signatures checked against PUBLIC_URL, inbound messages stored once,
status callbacks never moving backwards, STOP/START, and the local backend refusing them."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.sms.conftest import AUTH_TOKEN, OUTSIDE, inbound_params, open_thread, send, signed_post
from toc.accounts.models import User
from toc.sms import services
from toc.sms.models import Message, OptOut, Thread

INBOUND = "/webhooks/twilio/sms/inbound"
EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'

pytestmark = pytest.mark.usefixtures("twilio_settings")


def test_an_inbound_text_is_stored_once_per_message_sid(alice: User, alice_client: APIClient) -> None:
    params = inbound_params(to=alice.direct_number, body="Is the store open?")
    first = signed_post(INBOUND, params)
    again = signed_post(INBOUND, params)
    assert (first.status_code, first.content, first["Content-Type"]) == (200, EMPTY_TWIML, "text/xml")
    assert again.status_code == 200
    message = Message.objects.get()
    assert (message.direction, message.status, message.body, message.provider_sid) == (
        "inbound",
        "received",
        "Is the store open?",
        params["MessageSid"],
    )
    listing = alice_client.get("/api/sms/threads/").json()
    assert listing["unread_total"] == 1
    assert [(t["remote_number"], t["unread_count"]) for t in listing["threads"]] == [(OUTSIDE, 1)]
    read = alice_client.post(f"/api/sms/threads/{listing['threads'][0]['id']}/read/")
    assert read.json() == {"unread_total": 0}


@pytest.mark.parametrize(
    "how",
    ["tampered body", "wrong token", "no signature", "other url"],
)
def test_a_bad_signature_gets_403_and_stores_nothing(alice: User, how: str) -> None:
    params = inbound_params(to=alice.direct_number)
    if how == "tampered body":
        response = signed_post(INBOUND, params, tamper=True)
    elif how == "wrong token":
        response = signed_post(INBOUND, params, token="not-" + AUTH_TOKEN)
    elif how == "no signature":
        from django.test import Client

        response = Client().post(INBOUND, params)
    else:
        response = _signed_for_other_url(params)
    assert response.status_code == 403
    assert (Message.objects.count(), Thread.objects.count()) == (0, 0)


def _signed_for_other_url(params: dict[str, str]) -> Any:
    from django.test import Client
    from twilio.request_validator import RequestValidator

    signature = RequestValidator(AUTH_TOKEN).compute_signature("https://elsewhere.example" + INBOUND, params)
    return Client().post(INBOUND, params, HTTP_X_TWILIO_SIGNATURE=signature)


def test_a_text_to_nobodys_number_is_dropped(alice: User) -> None:
    response = signed_post(INBOUND, inbound_params(to="+14165550177"))
    assert response.status_code == 200
    assert Message.objects.count() == 0


def test_stop_opts_out_and_start_opts_back_in(alice: User, alice_client: APIClient) -> None:
    signed_post(INBOUND, inbound_params(to=alice.direct_number, body=" stop "))
    assert list(OptOut.objects.values_list("local_number", "remote_number")) == [(alice.direct_number, OUTSIDE)]
    thread_id = open_thread(alice_client)
    assert alice_client.get(f"/api/sms/threads/{thread_id}/").json()["opted_out"] is True
    assert send(alice_client, thread_id, "Are you sure?").status_code == 400
    signed_post(INBOUND, inbound_params(to=alice.direct_number, body="START"))
    assert OptOut.objects.count() == 0
    assert send(alice_client, thread_id, "Welcome back").status_code == 201
    for word in ("UNSUBSCRIBE", "Cancel", "end", "QUIT"):
        signed_post(INBOUND, inbound_params(to=alice.direct_number, body=word))
        assert OptOut.objects.count() == 1, word
        signed_post(INBOUND, inbound_params(to=alice.direct_number, body="start"))
    signed_post(INBOUND, inbound_params(to=alice.direct_number, body="please stop calling me"))
    assert OptOut.objects.count() == 0
    signed_post(INBOUND, inbound_params(to=alice.direct_number, body="Stop"))
    signed_post(INBOUND, inbound_params(to=alice.direct_number, body="yes"))
    assert OptOut.objects.count() == 0


def test_opt_out_keywords_are_whole_messages() -> None:
    choices: dict[str, bool | None] = {
        " stop ": True,
        "STOPALL": True,
        "Unsubscribe": True,
        "start": False,
        "UNSTOP": False,
        "Yes": False,
    }
    choices |= {"stop it": None, "yes please": None, "": None, "Stop.": None}
    assert {text: services.keyword_choice(text) for text in choices} == choices


def _outbound(alice_client: APIClient) -> Message:
    thread_id = open_thread(alice_client)
    send(alice_client, thread_id, "Hello")
    return Message.objects.get(direction="outbound")


def status(message: Message, value: str, *, sid: str = "SM" + "a" * 32, **extra: str) -> Any:
    params = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": value, "SmsStatus": value, **extra}
    params |= {"AccountSid": "AC" + "0" * 32, "From": message.local_number, "To": message.remote_number}
    return signed_post(f"/webhooks/twilio/sms/status/{message.id}", params)


def test_status_callbacks_never_move_backwards(alice_client: APIClient) -> None:
    message = _outbound(alice_client)
    seen = []
    for value in ("sent", "queued", "delivered", "sent", "sending", "failed"):
        assert status(message, value).status_code == 200
        message.refresh_from_db()
        seen.append(message.status)
    assert seen == ["sent", "sent", "delivered", "delivered", "delivered", "delivered"]
    # The callback attached the carrier's sid, though no worker recorded one.
    assert message.provider_sid == "SM" + "a" * 32


def test_a_failed_status_carries_the_carriers_reason(alice_client: APIClient) -> None:
    message = _outbound(alice_client)
    status(message, "undelivered", ErrorCode="30003")
    page = alice_client.get(f"/api/sms/threads/{message.thread_id}/messages/").json()
    assert [(m["status_label"], m["error_code"], m["error_message"]) for m in page["messages"]] == [
        ("Not delivered", "30003", "The phone is switched off or out of coverage.")
    ]


def test_a_status_for_another_sid_or_unsigned_changes_nothing(alice_client: APIClient) -> None:
    message = _outbound(alice_client)
    status(message, "sent", sid="SM" + "1" * 32)
    status(message, "delivered", sid="SM" + "2" * 32)
    from django.test import Client

    unsigned = Client().post(
        f"/webhooks/twilio/sms/status/{message.id}", {"MessageSid": "x", "MessageStatus": "failed"}
    )
    assert unsigned.status_code == 403
    message.refresh_from_db()
    assert (message.status, message.provider_sid) == ("sent", "SM" + "1" * 32)


def test_without_twilio_the_webhooks_refuse_everything(alice: User, settings: Any) -> None:
    from toc.sms.backends import _backend

    settings.TWILIO_AUTH_TOKEN = ""
    _backend.cache_clear()
    assert signed_post(INBOUND, inbound_params(to=alice.direct_number)).status_code == 403
    assert Message.objects.count() == 0


def test_an_mms_keeps_its_pictures_to_download(alice: User, alice_client: APIClient) -> None:
    params = inbound_params(to=alice.direct_number, body="")
    params |= {"NumMedia": "2", "MediaUrl0": "https://api.twilio.com/2010-04-01/a", "MediaContentType0": "image/jpeg"}
    params |= {"MediaUrl1": "https://api.twilio.com/2010-04-01/b", "MediaContentType1": "image/png"}
    signed_post(INBOUND, params)
    page = alice_client.get(f"/api/sms/threads/{Thread.objects.get().id}/messages/").json()
    assert [(m["content_type"], m["ready"]) for m in page["messages"][0]["media"]] == [
        ("image/jpeg", False),
        ("image/png", False),
    ]
