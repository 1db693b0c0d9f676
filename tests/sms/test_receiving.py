"""What arrives from Twilio: an MMS's pictures downloaded from Twilio (through its redirect)
and kept here, never linked to; addresses that are not Twilio's refused; and live events that
reach the number's owner, and nobody else."""

import datetime
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone
from rest_framework.test import APIClient

from tests.sms.conftest import ACCOUNT_SID, AUTH_TOKEN, OUTSIDE, inbound_params, open_thread, png, send, signed_post
from tests.sms.fake_twilio import FakeTwilio
from tests.sms.test_api import body_of
from tests.sockets import TIMEOUT, Connect, connected, drain, signed_in_browser
from toc.accounts.models import User
from toc.sms import services
from toc.sms.backends import _backend
from toc.sms.models import Media, Message

INBOUND = "/webhooks/twilio/sms/inbound"
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40


def _mms(alice: User, urls: list[tuple[str, str]]) -> None:
    params = inbound_params(to=alice.direct_number, body="Look")
    params["NumMedia"] = str(len(urls))
    for index, (url, content_type) in enumerate(urls):
        params[f"MediaUrl{index}"], params[f"MediaContentType{index}"] = url, content_type
    assert signed_post(INBOUND, params).status_code == 200


@pytest.mark.django_db
def test_inbound_pictures_are_downloaded_and_kept(alice: User, alice_client: APIClient, fake: FakeTwilio) -> None:
    _mms(alice, [(fake.add_media("image/jpeg", JPEG), "image/jpeg"), (fake.add_media("image/png", png()), "image/png")])
    for media in Media.objects.order_by("position"):
        services.download_media(media.pk)
        services.download_media(media.pk)  # a repeated task changes nothing
    first, second = Media.objects.order_by("position")
    assert [(m.name, m.content_type, m.size, m.is_ready) for m in (first, second)] == [
        ("picture-1.jpg", "image/jpeg", len(JPEG), True),
        ("picture-2.png", "image/png", len(png()), True),
    ]
    served = alice_client.get(f"/api/sms/media/{first.pk}/")
    assert (served["Content-Type"], body_of(served)) == ("image/jpeg", JPEG)
    media_gets = [r for r in fake.requests() if r.method == "GET"]
    assert len(media_gets) == 2 and all(r.auth_user == ACCOUNT_SID for r in media_gets)


@pytest.mark.django_db
def test_addresses_that_are_not_twilios_are_never_fetched(alice: User, fake: FakeTwilio) -> None:
    with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN) as elsewhere:
        _mms(alice, [(elsewhere.add_media("image/jpeg", JPEG), "image/jpeg")])
        media = Media.objects.get()
        services.download_media(media.pk)
        media.refresh_from_db()
        assert (media.is_ready, media.download_error) == (
            False,
            "The picture's address is not Twilio's; it was not fetched.",
        )
        assert elsewhere.requests() == []


class _Redirecting(BaseHTTPRequestHandler):
    """'Twilio' answering a media request with a redirect to a private address."""

    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Redirecting.hits.append(self.path)
        self.send_response(307)
        self.send_header("Location", self.server.target if self.path.startswith("/2010") else "/")  # type: ignore[attr-defined]
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.mark.django_db
def test_a_redirect_away_from_twilio_to_a_private_address_is_not_followed(alice: User, twilio_settings: Any) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirecting)
    inside = ThreadingHTTPServer(("127.0.0.1", 0), _Redirecting)
    server.target = f"http://127.0.0.1:{inside.server_address[1]}/internal"  # type: ignore[attr-defined]
    for each in (server, inside):
        threading.Thread(target=each.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        twilio_settings.TWILIO_API_BASE_URL = f"http://127.0.0.1:{server.server_address[1]}"
        _backend.cache_clear()
        _mms(alice, [(f"{twilio_settings.TWILIO_API_BASE_URL}/2010-04-01/Media/ME1", "image/jpeg")])
        media = Media.objects.get()
        _Redirecting.hits.clear()
        services.download_media(media.pk)
        media.refresh_from_db()
        assert media.download_error == "The picture's address led away from Twilio; not fetched."
        assert _Redirecting.hits == ["/2010-04-01/Media/ME1"]  # the private address never got a request
    finally:
        for each in (server, inside):
            each.shutdown()
            each.server_close()


@pytest.mark.django_db
def test_the_sweep_fetches_pictures_whose_task_was_lost(alice: User, fake: FakeTwilio) -> None:
    _mms(alice, [(fake.add_media("image/png", png()), "image/png")])
    media = Media.objects.get()
    assert services.pending_media_ids(older_than=datetime.timedelta(minutes=2)) == []
    Message.objects.update(created_at=timezone.now() - datetime.timedelta(minutes=3))
    assert services.pending_media_ids(older_than=datetime.timedelta(minutes=2)) == [media.pk]
    services.download_media(media.pk)
    assert services.pending_media_ids(older_than=datetime.timedelta(minutes=2)) == []


@pytest.mark.django_db
def test_a_picture_over_the_limit_is_not_kept(alice: User, fake: FakeTwilio, settings: Any) -> None:
    settings.SMS_MAX_MMS_BYTES = 1000
    _mms(alice, [(fake.add_media("image/jpeg", JPEG), "image/jpeg")])
    media = Media.objects.get()
    services.download_media(media.pk)
    media.refresh_from_db()
    assert (media.is_ready, media.download_error) == (False, "The file is larger than an MMS may be.")


async def _socket(open_socket: Connect, user: User) -> WebsocketCommunicator:
    socket = await open_socket(browser=await database_sync_to_async(signed_in_browser)(user))
    await connected(socket)
    await drain(socket)
    return socket


async def _next_sms_event(socket: WebsocketCommunicator) -> dict[str, Any]:
    while True:
        event = await socket.receive_json_from(timeout=TIMEOUT)
        if str(event["type"]).startswith("sms."):
            return event


async def _no_sms_event(socket: WebsocketCommunicator) -> bool:
    while not await socket.receive_nothing(timeout=0.3):
        if str((await socket.receive_json_from(timeout=TIMEOUT))["type"]).startswith("sms."):
            return False
    return True


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_live_events_reach_the_owner_only(
    alice: User, bob: User, twilio_settings: Any, alice_client: APIClient, open_socket: Connect
) -> None:
    alice_socket, bob_socket = await _socket(open_socket, alice), await _socket(open_socket, bob)

    await database_sync_to_async(signed_post)(INBOUND, inbound_params(to=alice.direct_number, body="Ping"))
    created = await _next_sms_event(alice_socket)
    assert (created["type"], created["message"]["body"], created["thread"]["unread_count"]) == (
        "sms.message_created",
        "Ping",
        1,
    )
    assert created["thread"]["remote_number"] == OUTSIDE

    thread_id = await database_sync_to_async(open_thread)(alice_client)
    response = await database_sync_to_async(send)(alice_client, thread_id, "Pong")
    outbound = await _next_sms_event(alice_socket)
    assert (outbound["type"], outbound["message"]["id"], outbound["message"]["status"]) == (
        "sms.message_created",
        response.json()["id"],
        "outbox",
    )
    await database_sync_to_async(alice_client.post)(f"/api/sms/threads/{thread_id}/read/")
    assert await _next_sms_event(alice_socket) == {"type": "sms.thread_read", "thread_id": thread_id, "unread_total": 0}

    await database_sync_to_async(signed_post)(INBOUND, inbound_params(to=alice.direct_number, body="STOP"))
    assert (await _next_sms_event(alice_socket))["type"] == "sms.thread_changed"
    stopped = await _next_sms_event(alice_socket)
    assert (stopped["type"], stopped["thread"]["opted_out"]) == ("sms.message_created", True)
    assert await _no_sms_event(bob_socket)
