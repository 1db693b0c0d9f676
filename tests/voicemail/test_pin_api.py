"""The voicemail PIN API across personas: my own PIN, and an admin's reset of someone else's."""

import pytest
from rest_framework.test import APIClient

from toc.accounts.models import User
from toc.voicemail import services
from toc.voicemail.models import Mailbox
from toc.voicemail.pins import PinCheck

pytestmark = pytest.mark.django_db


def pin_works(user: User, pin: str) -> bool:
    mailbox = services.get_mailbox(user=user)
    return services.verify_pin(mailbox_id=mailbox.pk, pin=pin, caller="test") is PinCheck.ACCEPTED


def test_a_user_sets_their_own_pin(bob: User, bob_client: APIClient) -> None:
    # when
    response = bob_client.put("/api/voicemail/pin/", {"pin": "3691"}, format="json")

    # then
    assert response.status_code == 204
    assert pin_works(bob, "3691")


def test_a_trivial_pin_is_a_clear_400_and_changes_nothing(bob: User, bob_client: APIClient) -> None:
    # given
    services.set_pin(user=bob, pin="3691")

    # when
    response = bob_client.put("/api/voicemail/pin/", {"pin": "1111"}, format="json")

    # then
    assert (response.status_code, response.json()) == (
        400,
        {"detail": "The request was not valid.", "errors": {"pin": ["A PIN cannot be one digit repeated."]}},
    )
    assert pin_works(bob, "3691")


def test_anonymous_cannot_set_a_pin(anonymous_client: APIClient) -> None:
    assert anonymous_client.put("/api/voicemail/pin/", {"pin": "3691"}, format="json").status_code in (401, 403)
    assert Mailbox.objects.count() == 0


def test_an_admin_resets_a_colleagues_pin(alice_client: APIClient, bob: User) -> None:
    # given bob's mailbox locked by wrong PINs
    mailbox = services.set_pin(user=bob, pin="3691")
    for _ in range(5):
        services.verify_pin(mailbox_id=mailbox.pk, pin="0000", caller="test")

    # when alice (admin) resets it
    response = alice_client.put(f"/api/voicemail/mailboxes/{bob.pk}/pin/", {"pin": "2580"}, format="json")

    # then
    assert response.status_code == 204
    assert pin_works(bob, "2580")


def test_a_plain_user_gets_403_and_nothing_changes(alice: User, bob_client: APIClient) -> None:
    # given
    services.set_pin(user=alice, pin="3691")

    # when
    response = bob_client.put(f"/api/voicemail/mailboxes/{alice.pk}/pin/", {"pin": "2580"}, format="json")

    # then
    assert response.status_code == 403
    assert pin_works(alice, "3691")


def test_another_organisation_sees_no_such_user(alice: User, carol: User, carol_client: APIClient) -> None:
    # given carol is an admin of her own organisation
    carol.is_org_admin = True
    carol.save()
    services.set_pin(user=alice, pin="3691")

    # when
    response = carol_client.put(f"/api/voicemail/mailboxes/{alice.pk}/pin/", {"pin": "2580"}, format="json")

    # then
    assert response.status_code == 404
    assert pin_works(alice, "3691")


def test_anonymous_cannot_reset_a_pin(alice: User, anonymous_client: APIClient) -> None:
    response = anonymous_client.put(f"/api/voicemail/mailboxes/{alice.pk}/pin/", {"pin": "2580"}, format="json")
    assert response.status_code in (401, 403)
    assert Mailbox.objects.count() == 0
