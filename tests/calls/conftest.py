"""Call-engine fixtures: a live media worker row, commands captured instead of sent, reachable users."""

from typing import Any

import pytest
from django.utils import timezone

from toc.accounts.models import User
from toc.media import control
from toc.media.models import MediaWorker
from toc.presence.models import Connection

OFFER = "\r\n".join(
    [
        "v=0",
        "o=- 1 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "c=IN IP4 0.0.0.0",
        "a=ice-ufrag:abcd",
        "a=ice-pwd:abcdefghijklmnopqrstuvwx",
        "a=fingerprint:sha-256 " + ":".join(["AB"] * 32),
        "a=setup:actpass",
        "a=mid:0",
        "a=sendrecv",
        "a=rtpmap:111 opus/48000/2",
        "",
    ]
)


@pytest.fixture
def worker(db: None) -> MediaWorker:
    return MediaWorker.objects.create(
        name="worker-1",
        channel_name="media.worker-1!x",
        hostname="test",
        pid=1,
        capacity=12,
        last_seen_at=timezone.now(),
    )


@pytest.fixture
def commands(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Commands the services send to media workers (and replies to sockets), in order."""
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(
        control, "send_command", lambda *, channel_name, command: sent.append({"to": channel_name, **command})
    )
    return sent


def online(user: User, channel_name: str = "") -> Connection:
    assert user.organisation_id is not None
    connection, _ = Connection.objects.get_or_create(
        channel_name=channel_name or f"socket.{user.pk}",
        defaults={"user": user, "organisation_id": user.organisation_id},
    )
    return connection
