"""Sending through the real twilio client to a local server with Twilio's shapes: what Twilio
receives, its refusals, retries with backoff, the pace of 1 per second per number, and that a
message is never sent twice, whatever happens mid-send."""

import datetime
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.sms.conftest import ACCOUNT_SID, OUTSIDE, PUBLIC_URL, open_thread, png, send, upload
from tests.sms.fake_twilio import FakeTwilio, Response
from toc.accounts.models import User
from toc.sms import services
from toc.sms.backends import _backend
from toc.sms.models import Media, Message, OptOut, SendingPace
from toc.sms.services.sending import _claim


def _queue(alice_client: APIClient, *bodies: str) -> list[Message]:
    thread_id = open_thread(alice_client)
    for body in bodies:
        assert send(alice_client, thread_id, body).status_code == 201
    return list(Message.objects.order_by("created_at"))


def _posts(fake: FakeTwilio) -> list[Any]:
    return [r for r in fake.requests() if r.method == "POST"]


def _send_then_die(user: User) -> None:
    """A worker claims the number's next message, reaches Twilio, and dies before writing anything down."""
    from toc.sms.backends import get_backend

    claimed = _claim(user.direct_number, "")
    assert claimed is not None
    get_backend().send(claimed[1])


def _due_now(message: Message) -> None:
    Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now() - datetime.timedelta(seconds=1))


def test_twilio_receives_the_text_with_a_status_callback(
    alice: User, alice_client: APIClient, fake: FakeTwilio
) -> None:
    [message] = _queue(alice_client, "Your table is ready")
    assert services.hand_over_next(alice.direct_number) is True
    [request] = fake.created()
    assert request.auth_user == ACCOUNT_SID
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request.form == {
        "To": OUTSIDE,
        "From": "+14165550101",
        "Body": "Your table is ready",
        "StatusCallback": f"{PUBLIC_URL}/webhooks/twilio/sms/status/{message.id}",
    }
    message.refresh_from_db()
    assert (message.status, message.provider_sid, message.backend) == ("queued", request.sid, "twilio")
    assert (message.attempts, message.handover_started_at, message.outcome_unknown) == (1, None, False)


def test_pictures_go_as_media_urls_twilio_can_fetch(alice: User, alice_client: APIClient, fake: FakeTwilio) -> None:
    thread_id = open_thread(alice_client)
    send(alice_client, thread_id, "Floor plan", media=[upload("a.png", png()), upload("b.png", png(3, 3))])
    services.hand_over_next(alice.direct_number)
    tokens = list(Media.objects.order_by("position").values_list("public_token", flat=True))
    [request] = fake.created()
    assert request.values("MediaUrl") == [f"{PUBLIC_URL}/sms/media/{token}" for token in tokens]
    assert request.sid is not None and request.sid.startswith("MM")


@pytest.mark.parametrize(
    ("answer", "code", "reason"),
    [
        (Response.invalid_number(), "21211", "This is not a valid phone number."),
        (
            Response.unsubscribed(),
            "21610",
            "This number has opted out of texts from your number (they replied STOP). "
            "They can reply START to opt back in.",
        ),
    ],
)
def test_permanent_refusals_fail_with_the_reason(
    alice: User, alice_client: APIClient, fake: FakeTwilio, answer: Response, code: str, reason: str
) -> None:
    fake.script(answer)
    [message] = _queue(alice_client, "Hello")
    services.hand_over_next(alice.direct_number)
    page = alice_client.get(f"/api/sms/threads/{message.thread_id}/messages/").json()
    assert [(m["status"], m["error_code"], m["error_message"]) for m in page["messages"]] == [("failed", code, reason)]
    assert OptOut.objects.count() == (1 if code == "21610" else 0)
    assert services.hand_over_next(alice.direct_number) is False
    assert len(_posts(fake)) == 1


def test_429_waits_with_backoff_then_sends_once(alice: User, alice_client: APIClient, fake: FakeTwilio) -> None:
    fake.script(Response.too_many_requests())
    [message] = _queue(alice_client, "Hello")
    before = timezone.now()
    services.hand_over_next(alice.direct_number)
    message.refresh_from_db()
    assert (message.status, message.attempts, message.outcome_unknown) == ("outbox", 1, False)
    assert message.next_attempt_at is not None
    assert 1.5 <= (message.next_attempt_at - before).total_seconds() <= 3
    assert services.hand_over_next(alice.direct_number) is False  # not due yet
    _due_now(message)
    assert services.hand_over_next(alice.direct_number) is True
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("queued", 2)
    assert [r.status for r in _posts(fake)] == [429, 201]
    assert [r.method for r in fake.requests()] == ["POST", "POST"]  # nothing to ask after a 429


def test_a_500_asks_twilio_before_sending_again(alice: User, alice_client: APIClient, fake: FakeTwilio) -> None:
    fake.script(Response.server_error())
    [message] = _queue(alice_client, "Hello")
    services.hand_over_next(alice.direct_number)
    message.refresh_from_db()
    assert (message.status, message.outcome_unknown) == ("outbox", True)
    _due_now(message)
    services.hand_over_next(alice.direct_number)
    assert [(r.method, r.status) for r in fake.requests()] == [("POST", 500), ("GET", 200), ("POST", 201)]
    assert len(fake.created()) == 1


def test_a_timeout_never_sends_twice(
    alice: User, alice_client: APIClient, fake: FakeTwilio, twilio_settings: Any
) -> None:
    twilio_settings.SMS_CARRIER_TIMEOUT_SECONDS = 1
    _backend.cache_clear()
    fake.script(Response.hold(3))
    [message] = _queue(alice_client, "Hello")
    services.hand_over_next(alice.direct_number)
    message.refresh_from_db()
    assert (message.status, message.outcome_unknown, message.provider_sid) == ("outbox", True, None)
    _due_now(message)
    services.hand_over_next(alice.direct_number)
    message.refresh_from_db()
    [created] = fake.created()
    assert (message.status, message.provider_sid) == ("queued", created.sid)
    assert [r.method for r in fake.requests()] == ["POST", "GET"]


def test_a_worker_that_died_mid_send_is_not_repeated(
    alice: User, alice_client: APIClient, fake: FakeTwilio, twilio_settings: Any
) -> None:
    [message] = _queue(alice_client, "Hello")
    _send_then_die(alice)
    assert services.hand_over_next(alice.direct_number) is False  # its lease still runs
    lease = datetime.timedelta(seconds=twilio_settings.SMS_HANDOVER_LEASE_SECONDS + 1)
    Message.objects.filter(pk=message.pk).update(handover_started_at=timezone.now() - lease)
    assert services.hand_over_next(alice.direct_number) is True
    message.refresh_from_db()
    [created] = fake.created()
    assert (message.status, message.provider_sid, message.attempts) == ("queued", created.sid, 2)
    assert [r.method for r in fake.requests()] == ["POST", "GET"]


def test_a_worker_that_died_before_reaching_twilio_sends_once(
    alice: User, alice_client: APIClient, fake: FakeTwilio, twilio_settings: Any
) -> None:
    [message] = _queue(alice_client, "Hello")
    assert _claim(alice.direct_number, "") is not None
    lease = datetime.timedelta(seconds=twilio_settings.SMS_HANDOVER_LEASE_SECONDS + 1)
    Message.objects.filter(pk=message.pk).update(handover_started_at=timezone.now() - lease)
    services.hand_over_next(alice.direct_number)
    assert [r.method for r in fake.requests()] == ["GET", "POST"]
    assert len(fake.created()) == 1


def test_giving_up_after_the_last_attempt(
    alice: User, alice_client: APIClient, fake: FakeTwilio, twilio_settings: Any
) -> None:
    twilio_settings.SMS_MAX_ATTEMPTS = 2
    fake.script(Response.too_many_requests(), Response.too_many_requests())
    [message] = _queue(alice_client, "Hello")
    services.hand_over_next(alice.direct_number)
    _due_now(message)
    services.hand_over_next(alice.direct_number)
    message.refresh_from_db()
    assert (message.status, message.error_message) == (
        "failed",
        "Not sent: Twilio asked us to slow down (429). TOC gave up after 2 attempts.",
    )


def test_one_message_per_second_per_number(
    alice: User, alice_client: APIClient, fake: FakeTwilio, twilio_settings: Any
) -> None:
    twilio_settings.SMS_MILLISECONDS_PER_MESSAGE = 1000
    _queue(alice_client, "one", "two")
    start = timezone.now()
    assert services.hand_over_next(alice.direct_number) is True
    services.plan_next(alice.direct_number)  # as the task does after a hand-over
    pace = SendingPace.objects.get()
    assert pace.wake_at == pace.next_handover_at
    assert services.hand_over_next(alice.direct_number) is False  # too early; the planned wake stays
    assert SendingPace.objects.get().wake_token == pace.wake_token
    assert 0.9 <= (pace.next_handover_at - start).total_seconds() <= 1.5
    assert [r.value("Body") for r in fake.created()] == ["one"]
    SendingPace.objects.update(next_handover_at=timezone.now())
    assert services.hand_over_next(alice.direct_number, pace.wake_token) is True
    assert [r.value("Body") for r in fake.created()] == ["one", "two"]
    assert SendingPace.objects.get().wake_token == ""


def test_a_status_callback_before_the_answer_is_not_undone(
    alice: User, alice_client: APIClient, fake: FakeTwilio, twilio_settings: Any
) -> None:
    twilio_settings.SMS_MAX_ATTEMPTS = 1
    twilio_settings.SMS_CARRIER_TIMEOUT_SECONDS = 1
    _backend.cache_clear()
    fake.script(Response.hold(2))
    [message] = _queue(alice_client, "Hello")
    claimed = _claim(alice.direct_number, "")
    assert claimed is not None
    # Twilio's "sent" callback arrives while the worker still waits for the answer (which times out).
    services.apply_status(message_id=message.pk, sid="SM" + "c" * 32, status="sent")
    from toc.sms.services.sending import _hand_over

    _hand_over(*claimed)
    message.refresh_from_db()
    assert (message.status, message.provider_sid, message.error_message) == ("sent", "SM" + "c" * 32, "")


def _age_twilio_copy(fake: FakeTwilio, sid: str, minutes: int) -> None:
    """Make Twilio's record of `sid` `minutes` older (the fake keeps RFC 2822 dates)."""
    from email.utils import format_datetime

    stored = fake._messages[sid]
    stored["date_created"] = format_datetime(timezone.now() - datetime.timedelta(minutes=minutes), usegmt=True)


def test_a_retry_long_after_a_lost_send_still_finds_it(
    alice: User, alice_client: APIClient, fake: FakeTwilio, twilio_settings: Any
) -> None:
    [message] = _queue(alice_client, "Hello")
    _send_then_die(alice)
    # The worker died; workers came back 10 minutes later.
    [created] = fake.created()
    _age_twilio_copy(fake, str(created.sid), 10)
    ten_minutes_ago = timezone.now() - datetime.timedelta(minutes=10)
    Message.objects.filter(pk=message.pk).update(handover_started_at=ten_minutes_ago, first_handover_at=ten_minutes_ago)
    services.hand_over_next(alice.direct_number)
    message.refresh_from_db()
    assert (message.status, message.provider_sid) == ("queued", created.sid)
    assert len(fake.created()) == 1


def test_the_same_text_twice_never_takes_the_others_record(
    alice: User, alice_client: APIClient, fake: FakeTwilio
) -> None:
    first, second = _queue(alice_client, "ok", "ok")
    fake.script(Response.success(), Response.server_error())
    services.hand_over_next(alice.direct_number)
    services.hand_over_next(alice.direct_number)
    second.refresh_from_db()
    assert (second.status, second.outcome_unknown) == ("outbox", True)
    _due_now(second)
    services.hand_over_next(alice.direct_number)  # Twilio lists only the first "ok": not this one's
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("queued", "queued")
    assert {first.provider_sid, second.provider_sid} == {r.sid for r in fake.created()}
    assert len(fake.created()) == 2


def test_an_unexpected_error_is_retried_then_left_unconfirmed(
    alice: User, alice_client: APIClient, fake: FakeTwilio, twilio_settings: Any, monkeypatch: Any
) -> None:
    twilio_settings.SMS_MAX_ATTEMPTS = 2
    from toc.sms.backends import get_backend

    def broken(*args: Any) -> Any:
        raise ValueError("an answer nobody expected")

    [message] = _queue(alice_client, "Hello")
    monkeypatch.setattr(get_backend(), "send", broken)
    services.hand_over_next(alice.direct_number)
    message.refresh_from_db()
    assert (message.status, message.outcome_unknown, message.attempts) == ("outbox", True, 1)
    _due_now(message)
    services.hand_over_next(alice.direct_number)
    message.refresh_from_db()
    assert message.status == "unconfirmed"
    assert message.error_message == (
        "The carrier never confirmed it (Unexpected error (ValueError)). It may have been sent: check with the "
        "recipient before sending it again."
    )
    # Twilio had it after all: its callback tells the truth.
    services.apply_status(message_id=message.pk, sid="SM" + "d" * 32, status="delivered")
    message.refresh_from_db()
    assert (message.status, message.error_message) == ("delivered", "")


def test_a_claim_that_keeps_dying_is_given_up_as_unconfirmed(
    alice: User, alice_client: APIClient, fake: FakeTwilio, twilio_settings: Any
) -> None:
    twilio_settings.SMS_MAX_ATTEMPTS = 2
    [message] = _queue(alice_client, "Hello")
    lease = datetime.timedelta(seconds=twilio_settings.SMS_HANDOVER_LEASE_SECONDS + 1)
    for _ in range(2):  # two workers die holding it
        assert _claim(alice.direct_number, "") is not None
        Message.objects.filter(pk=message.pk).update(handover_started_at=timezone.now() - lease)
    assert services.hand_over_next(alice.direct_number) is False
    message.refresh_from_db()
    assert (message.status, message.attempts, message.handover_started_at) == ("unconfirmed", 2, None)
    assert fake.requests() == []


def test_a_21610_in_a_status_callback_records_the_opt_out(alice: User, alice_client: APIClient) -> None:
    [message] = _queue(alice_client, "Hello")
    services.apply_status(message_id=message.pk, sid="SM" + "e" * 32, status="failed", error_code="21610")
    assert list(OptOut.objects.values_list("remote_number", flat=True)) == [OUTSIDE]
