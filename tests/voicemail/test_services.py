"""Mailboxes and PINs against the database: hashed, validated, counted across calls, locked."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import make_user
from toc.accounts.models import Organisation, User
from toc.voicemail import services
from toc.voicemail.models import Mailbox
from toc.voicemail.pins import LOCKOUT, PinCheck
from toc.voicemail.services import VoicemailError

pytestmark = pytest.mark.django_db


def test_a_mailbox_is_made_on_first_use_in_the_users_organisation(alice: User) -> None:
    # when
    mailbox = services.get_mailbox(user=alice)

    # then
    assert (mailbox.user_id, mailbox.organisation_id, mailbox.pin_hash) == (alice.pk, alice.organisation_id, "")
    assert services.get_mailbox(user=alice).pk == mailbox.pk


def test_the_pin_is_stored_hashed(alice: User) -> None:
    # when
    mailbox = services.set_pin(user=alice, pin="2580")

    # then
    mailbox.refresh_from_db()
    assert "2580" not in mailbox.pin_hash
    assert mailbox.pin_hash.startswith(("pbkdf2_", "argon2", "bcrypt", "md5$", "scrypt"))


@pytest.mark.parametrize(
    ("pin", "message"),
    [
        ("123", "A PIN is 4 to 8 digits long."),
        ("1234", "A PIN cannot be a run of digits such as 1234."),
        ("0000", "A PIN cannot be one digit repeated."),
        ("1010x", "A PIN is made of digits only."),
    ],
)
def test_a_bad_pin_is_refused_and_the_old_one_stays(alice: User, pin: str, message: str) -> None:
    # given
    before = services.set_pin(user=alice, pin="2580").pin_hash

    # when / then
    with pytest.raises(VoicemailError) as refused:
        services.set_pin(user=alice, pin=pin)
    assert (refused.value.code, refused.value.message) == ("invalid", message)
    assert Mailbox.objects.get(user=alice).pin_hash == before


def test_the_own_extension_is_refused(acme: Organisation) -> None:
    # given a user with a four-digit extension
    erin = make_user(acme, "erin", extension="2468")

    # when / then
    with pytest.raises(VoicemailError, match=r"^A PIN cannot be your extension\.$"):
        services.set_pin(user=erin, pin="2468")
    assert services.get_mailbox(user=erin).pin_hash == ""


def test_five_wrong_pins_over_separate_calls_lock_for_fifteen_minutes_and_are_logged(
    alice: User, caplog: pytest.LogCaptureFixture
) -> None:
    # given
    mailbox = services.set_pin(user=alice, pin="2580")
    now = timezone.now()

    # when five wrong PINs come, each from its own call
    with caplog.at_level(logging.WARNING, logger="toc.voicemail.services"):
        outcomes = [
            services.verify_pin(
                mailbox_id=mailbox.pk, pin="1111", caller=f"call {attempt}", now=now + timedelta(minutes=attempt)
            )
            for attempt in range(5)
        ]

    # then the fifth locks it; the right PIN is refused until 15 minutes have passed
    assert outcomes == [PinCheck.WRONG] * 4 + [PinCheck.LOCKED]
    mailbox.refresh_from_db()
    assert mailbox.failed_pin_attempts == 5
    assert mailbox.locked_until == now + timedelta(minutes=4) + LOCKOUT
    assert (
        services.verify_pin(mailbox_id=mailbox.pk, pin="2580", caller="call 6", now=now + timedelta(minutes=10))
        is PinCheck.LOCKED
    )
    assert (
        services.verify_pin(mailbox_id=mailbox.pk, pin="2580", caller="call 7", now=now + timedelta(minutes=20))
        is PinCheck.ACCEPTED
    )
    mailbox.refresh_from_db()
    assert (mailbox.failed_pin_attempts, mailbox.locked_until) == (0, None)
    messages = [record.getMessage() for record in caplog.records]
    assert sum(message.startswith("voicemail: wrong PIN") for message in messages) == 4
    assert any(f"mailbox {mailbox.pk} locked until" in message for message in messages)
    assert any("PIN attempt on locked mailbox" in message for message in messages)


def test_a_right_pin_clears_earlier_wrong_ones(alice: User) -> None:
    # given
    mailbox = services.set_pin(user=alice, pin="2580")
    for _ in range(3):
        services.verify_pin(mailbox_id=mailbox.pk, pin="1111", caller="test")

    # when
    outcome = services.verify_pin(mailbox_id=mailbox.pk, pin="2580", caller="test")

    # then
    mailbox.refresh_from_db()
    assert (outcome, mailbox.failed_pin_attempts) == (PinCheck.ACCEPTED, 0)


def test_a_mailbox_without_a_pin_cannot_be_opened(alice: User) -> None:
    mailbox = services.get_mailbox(user=alice)
    with pytest.raises(VoicemailError) as refused:
        services.verify_pin(mailbox_id=mailbox.pk, pin="2580", caller="test")
    assert refused.value.code == "no_pin"


def test_an_admin_resets_a_locked_users_pin(alice: User, bob: User) -> None:
    # given bob's mailbox locked
    mailbox = services.set_pin(user=bob, pin="2580")
    for _ in range(5):
        services.verify_pin(mailbox_id=mailbox.pk, pin="1111", caller="test")

    # when alice (an admin) resets it
    services.reset_pin(admin=alice, user_id=bob.pk, pin="3691")

    # then the lock is gone and the new PIN works
    mailbox.refresh_from_db()
    assert (mailbox.failed_pin_attempts, mailbox.locked_until) == (0, None)
    assert services.verify_pin(mailbox_id=mailbox.pk, pin="3691", caller="test") is PinCheck.ACCEPTED


def test_a_plain_user_cannot_reset_a_pin_and_nothing_changes(alice: User, bob: User) -> None:
    # given
    before = services.set_pin(user=alice, pin="2580").pin_hash

    # when / then
    with pytest.raises(VoicemailError) as refused:
        services.reset_pin(admin=bob, user_id=alice.pk, pin="3691")
    assert refused.value.code == "forbidden"
    assert Mailbox.objects.get(user=alice).pin_hash == before


def test_an_admin_of_another_organisation_cannot_reach_the_user(alice: User, carol: User) -> None:
    # given carol is an admin elsewhere
    carol.is_org_admin = True
    carol.save()
    before = services.set_pin(user=alice, pin="2580").pin_hash

    # when / then the user does not exist for her
    with pytest.raises(VoicemailError) as refused:
        services.reset_pin(admin=carol, user_id=alice.pk, pin="3691")
    assert refused.value.code == "not_found"
    assert Mailbox.objects.get(user=alice).pin_hash == before
