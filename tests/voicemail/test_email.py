"""Voicemail to e-mail: an outbox row with the message, sent once with the audio attached,
retried with backoff when the mail server fails, given up after six attempts."""

import smtplib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from tests.audio import write_wav
from toc.accounts.models import User
from toc.voicemail import email, services, tasks
from toc.voicemail.models import VoicemailEmail, VoicemailMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def scheduled(monkeypatch: pytest.MonkeyPatch) -> list[tuple[tuple[Any, ...], float]]:
    sent: list[tuple[tuple[Any, ...], float]] = []
    monkeypatch.setattr(
        tasks.send_voicemail_email,
        "apply_async",
        lambda args=(), countdown=0.0, **_: sent.append((tuple(args), countdown)),
    )
    return sent


def leave(user: User, tmp_path: Path, *, email_enabled: bool = True) -> VoicemailMessage:
    services.update_settings(user=user, email_enabled=email_enabled)
    message = services.store_message(
        mailbox=services.get_mailbox(user=user),
        recording=write_wav(tmp_path / "m.wav", hz=700, seconds=2),
        caller_name="Alice Tester",
        caller_number="101",
    )
    assert message is not None
    return message


def test_a_new_message_is_emailed_once_with_its_audio(
    bob: User, tmp_path: Path, scheduled: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    # when a message arrives for bob, who asked for e-mail
    with django_capture_on_commit_callbacks(execute=True):
        message = leave(bob, tmp_path)

    # then an outbox row was written with it, and its sending was scheduled after commit
    row = VoicemailEmail.objects.get()
    assert (row.message_id, row.to_address, row.status, row.attempts) == (message.pk, "bob@acme.example", "pending", 0)
    assert scheduled == [((row.pk,), 0)]

    # when the task runs (twice: a redelivery)
    assert email.send_email(row_id=row.pk) == "sent"
    assert email.send_email(row_id=row.pk) == "sent"

    # then exactly one e-mail went, with the recording attached byte for byte
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert (sent.subject, sent.to) == ("New voicemail from Alice Tester (101)", ["bob@acme.example"])
    assert "Alice Tester (101) left you a voicemail message on" in sent.body
    assert "Length: 0:02" in sent.body
    [(name, content, mimetype)] = sent.attachments
    assert (name.startswith("voicemail-"), name.endswith(".wav"), mimetype) == (True, True, "audio/wav")
    assert content == message.audio.open("rb").read()
    row.refresh_from_db()
    assert (row.status, row.attempts, row.sent_at is not None) == ("sent", 1, True)


def test_no_email_unless_asked(bob: User, tmp_path: Path, scheduled: list[Any]) -> None:
    # when
    leave(bob, tmp_path, email_enabled=False)

    # then
    assert (VoicemailEmail.objects.count(), scheduled, mail.outbox) == (0, [], [])


def test_a_failing_mail_server_is_retried_with_backoff_then_given_up(
    bob: User, tmp_path: Path, scheduled: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the mail server refuses every connection
    leave(bob, tmp_path)
    row = VoicemailEmail.objects.get()

    def refuse(self: Any, fail_silently: bool = False) -> int:
        raise smtplib.SMTPConnectError(421, "try later")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    now = timezone.now()
    waits = []

    # when the task runs each time it is due
    for _ in range(email.MAX_ATTEMPTS):
        scheduled.clear()
        status = email.send_email(row_id=row.pk, now=now)
        row.refresh_from_db()
        if status == "pending":
            assert email.send_email(row_id=row.pk, now=now) == "pending"  # not due yet: nothing tried
            waits.append((row.next_attempt_at - now).total_seconds())
            assert scheduled == [((row.pk,), waits[-1])]
            now = row.next_attempt_at

    # then it waited 30 s, 1, 2, 4 and 8 minutes, and after the sixth failure gave up
    assert waits == [30, 60, 120, 240, 480]
    assert (row.status, row.attempts, row.last_error) == ("failed", 6, "SMTPConnectError: (421, 'try later')")
    assert mail.outbox == []


def test_the_sweep_sends_what_is_owed_and_reclaims_a_dead_workers_claim(
    bob: User, tmp_path: Path, scheduled: list[Any]
) -> None:
    # given one e-mail whose task was lost, and one claimed by a worker that died 11 minutes ago
    leave(bob, tmp_path)
    leave(bob, tmp_path)
    _lost, claimed = VoicemailEmail.objects.order_by("pk")
    VoicemailEmail.objects.filter(pk=claimed.pk).update(
        status="sending", claimed_at=timezone.now() - timedelta(minutes=11), attempts=1
    )

    # when
    sent = email.sweep()

    # then both went, once each
    assert sent == 2
    assert sorted(VoicemailEmail.objects.values_list("status", "attempts")) == [("sent", 1), ("sent", 2)]
    assert len(mail.outbox) == 2


def test_a_claim_still_in_progress_is_left_alone(bob: User, tmp_path: Path, scheduled: list[Any]) -> None:
    # given a worker claimed it a minute ago (it may be talking to the mail server right now)
    leave(bob, tmp_path)
    VoicemailEmail.objects.update(status="sending", claimed_at=timezone.now() - timedelta(minutes=1), attempts=1)

    # when
    assert email.sweep() == 0

    # then
    assert (VoicemailEmail.objects.get().status, mail.outbox) == ("sending", [])


def test_a_message_deleted_before_sending_is_not_emailed(bob: User, tmp_path: Path, scheduled: list[Any]) -> None:
    # given
    message = leave(bob, tmp_path)
    services.delete_message(user=bob, message_id=message.pk)

    # when
    status = email.send_email(row_id=VoicemailEmail.objects.get().pk)

    # then
    assert (status, mail.outbox) == ("failed", [])
    assert VoicemailEmail.objects.get().last_error == "The message was deleted."
