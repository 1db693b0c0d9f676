"""Chat test helpers: a third colleague (dave), and plain-text envelopes."""

import uuid
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from tests.conftest import client_for
from tests.factories import make_user
from toc.accounts.models import Organisation, User


@pytest.fixture
def dave(acme: Organisation) -> User:
    return make_user(acme, "dave", extension="103")


@pytest.fixture
def dave_client(dave: User) -> APIClient:
    return client_for(dave)


def plain(text: str, attachments: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"format": "toc.plain/1", "payload": {"text": text, "attachments": attachments or []}}


def send(client: APIClient, conversation_id: str, text: str, **extra: Any) -> Any:
    body = {"envelope": plain(text), "client_id": str(uuid.uuid4()), **extra}
    return client.post(f"/api/chat/conversations/{conversation_id}/messages/", body, format="json")


def open_direct(client: APIClient, user: User) -> str:
    response = client.post("/api/chat/conversations/", {"kind": "direct", "user_id": user.pk}, format="json")
    assert response.status_code in (200, 201), response.json()
    return str(response.json()["id"])


def make_group(client: APIClient, members: list[User], name: str = "Sales") -> str:
    body = {"kind": "group", "name": name, "member_ids": [member.pk for member in members]}
    response = client.post("/api/chat/conversations/", body, format="json")
    assert response.status_code == 201, response.json()
    return str(response.json()["id"])


def upload(client: APIClient, conversation_id: str, name: str, data: bytes, content_type: str, **fields: str):
    file = SimpleUploadedFile(name, data, content_type=content_type)
    return client.post(
        f"/api/chat/conversations/{conversation_id}/attachments/", {"file": file, **fields}, format="multipart"
    )
