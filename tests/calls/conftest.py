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


# --- call handling: more people, the work queued after commit, and small builders ---------


@pytest.fixture
def dave(acme: Any) -> User:
    from tests.factories import make_user

    return make_user(acme, "dave", extension="103")


@pytest.fixture
def erin(acme: Any) -> User:
    from tests.factories import make_user

    return make_user(acme, "erin", extension="104")


@pytest.fixture
def scheduled(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[Any, ...], float]]:
    """Celery timers the services schedule (task name, args, countdown), captured instead of sent."""
    from toc.calls import tasks

    sent: list[tuple[str, tuple[Any, ...], float]] = []
    for task in (tasks.end_unanswered_call, tasks.ring_back_parked_call, tasks.end_detached_legs):
        name = task.name.rsplit(".", 1)[-1]
        monkeypatch.setattr(
            task,
            "apply_async",
            lambda args=(), countdown=0.0, _name=name, **_: sent.append((_name, tuple(args), countdown)),
        )
    return sent


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Live events the call services send (type, payload and audience), captured in order."""
    from toc.calls import history
    from toc.calls.services import base, calls, handling, park

    sent: list[dict[str, Any]] = []

    def capture(*, event_type: str, payload: dict[str, Any], user_ids: Any = (), organisation_id: Any = None) -> None:
        sent.append({"type": event_type, **payload, "user_ids": list(user_ids), "organisation_id": organisation_id})

    for module in (base, calls, handling, history, park):
        monkeypatch.setattr(module, "send_event", capture)
    return sent


def channel_of(user: User) -> str:
    return f"socket.{user.first_name.lower()}"


def answered_call(caller: User, callee: User) -> Any:
    """A call from `caller` that `callee` answered (each on the socket `channel_of` them)."""
    from toc.calls import services

    online(callee)
    call = services.place_call(user=caller, channel_name=channel_of(caller), destination=callee.extension, sdp=OFFER)
    services.answer_call(user=callee, call_id=call.pk, channel_name=channel_of(callee), sdp=OFFER)
    call.refresh_from_db()
    return call


def live_leg(call: Any, user: User) -> Any:
    """The user's one live leg in the call."""
    from toc.calls.models import Leg

    return Leg.objects.exclude(state="ended").get(call_id=call.pk, user=user)


def everything() -> dict[str, list[dict[str, Any]]]:
    """Every row the call engine writes, to show that a refused request changed nothing."""
    from toc.calls.models import Call, CallRecord, CallTransition, Conference, ConferenceRoom, Leg

    models: list[Any] = [Call, Leg, CallTransition, CallRecord, Conference, ConferenceRoom]
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in models}
