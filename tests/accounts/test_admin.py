import pytest
from django.test import Client

from toc.accounts.models import User


@pytest.fixture
def operator_client(db):
    operator = User.objects.create_superuser("operator@toc.example", "operator-pass-123")
    client = Client()
    client.force_login(operator)
    return client


def _change_form(user: User, **overrides: str) -> dict[str, str]:
    data = {
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "organisation": str(user.organisation_id),
        "extension": user.extension,
        "direct_number": user.direct_number,
        "mobile_number": user.mobile_number,
        "calling_device": user.calling_device,
        "is_active": "on",
        "created_at_0": "2026-01-01",
        "created_at_1": "00:00:00",
    }
    data.update(overrides)
    return data


def test_operator_changes_a_users_numbers_to_e164(operator_client, bob):
    # when
    response = operator_client.post(
        f"/admin/accounts/user/{bob.pk}/change/", _change_form(bob, mobile_number="613 555 0177")
    )

    # then
    assert response.status_code == 302
    bob.refresh_from_db()
    assert bob.mobile_number == "+16135550177"


def test_operator_cannot_give_a_taken_extension_or_a_bad_number(operator_client, alice, bob):
    # when
    taken = operator_client.post(f"/admin/accounts/user/{bob.pk}/change/", _change_form(bob, extension="101"))
    bad_number = operator_client.post(f"/admin/accounts/user/{bob.pk}/change/", _change_form(bob, mobile_number="55"))
    reserved = operator_client.post(f"/admin/accounts/user/{bob.pk}/change/", _change_form(bob, extension="911"))

    # then
    assert taken.status_code == 200
    assert "Extension 101 is already taken in Acme." in taken.content.decode()
    assert "“55” is not a valid phone number" in bad_number.content.decode()
    assert "911 is reserved by the dial plan." in reserved.content.decode()
    bob.refresh_from_db()
    assert (bob.extension, bob.mobile_number) == ("102", "")
