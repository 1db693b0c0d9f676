"""SMS test helpers: signed Twilio webhooks, pictures, and a thread open for alice."""

import io
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient
from twilio.request_validator import RequestValidator

from tests.sms.fake_twilio import FakeTwilio
from toc.accounts.models import User
from toc.sms.backends import _backend

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC_URL = "https://toc.example.com"
OUTSIDE = "+14165550199"


@pytest.fixture(autouse=True)
def _fresh_backend() -> Any:
    _backend.cache_clear()
    yield
    _backend.cache_clear()


@pytest.fixture
def twilio_settings(settings: Any) -> Any:
    """The Twilio backend (credentials set); PUBLIC_URL is what webhooks are signed for."""
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.PUBLIC_URL = PUBLIC_URL
    settings.SMS_MILLISECONDS_PER_MESSAGE = 0
    return settings


@pytest.fixture
def fake(twilio_settings: Any) -> Iterator[FakeTwilio]:
    """Twilio's REST API on 127.0.0.1 (tests/sms/fake_twilio.py), used by the Twilio backend."""
    with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN) as server:
        twilio_settings.TWILIO_API_BASE_URL = server.base_url
        _backend.cache_clear()
        yield server


def signed_post(path: str, params: dict[str, str], *, token: str = AUTH_TOKEN, tamper: bool = False) -> Any:
    signature = RequestValidator(token).compute_signature(PUBLIC_URL + path, params)
    if tamper:
        params = {**params, "Body": params.get("Body", "") + "!"}
    return Client().post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)


def inbound_params(*, to: str, sender: str = OUTSIDE, body: str = "Hi", sid: str | None = None) -> dict[str, str]:
    sid = sid or "SM" + uuid.uuid4().hex
    return {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "To": to,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }


def open_thread(client: APIClient, to: str = "416 555 0199") -> str:
    response = client.post("/api/sms/threads/", {"to": to}, format="json")
    assert response.status_code in (200, 201), response.json()
    return str(response.json()["id"])


def send(client: APIClient, thread_id: str, body: str = "Hello", **fields: Any) -> Any:
    data = {"body": body, "client_id": str(fields.pop("client_id", uuid.uuid4())), **fields}
    return client.post(f"/api/sms/threads/{thread_id}/messages/", data, format="multipart")


def png(width: int = 2, height: int = 2) -> bytes:
    """A real PNG (one colour), built without a third-party imaging library."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def upload(name: str, data: bytes) -> io.BytesIO:
    file = io.BytesIO(data)
    file.name = name
    return file


def thread_owner(thread_id: str) -> User:
    from toc.sms.models import Thread

    return Thread.objects.get(pk=thread_id).user
