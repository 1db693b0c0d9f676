"""`manage.py seed_demo`: the demo organisation's voicemail PINs, main number and company greeting."""

import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from toc.accounts.models import Organisation, User
from toc.voicemail import company, services
from toc.voicemail.pins import PinCheck

pytestmark = pytest.mark.django_db


def seed(settings: Any, tmp_path: Path) -> str:
    settings.VAR_DIR = tmp_path
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_demo_users_get_working_pins_that_stay_the_same(settings: Any, tmp_path: Path) -> None:
    # when seeded twice
    first = seed(settings, tmp_path)
    second = seed(settings, tmp_path)

    # then each of the six users has a PIN that opens their mailbox, printed the same both times
    printed = dict(re.findall(r"(1\d\d): (\d{4})", first))
    assert sorted(printed) == ["101", "102", "103", "104", "105", "106"]
    assert dict(re.findall(r"(1\d\d): (\d{4})", second)) == printed
    for extension, pin in printed.items():
        mailbox = services.get_mailbox(user=User.objects.get(extension=extension))
        assert services.verify_pin(mailbox_id=mailbox.pk, pin=pin, caller="test") is PinCheck.ACCEPTED

    # and the organisation has its main number and the greeting's choices
    organisation = Organisation.objects.get(slug="demo")
    assert organisation.main_number == "+14165550100"
    assert company.greeting_of(organisation.pk).options == {"0": "101", "1": "102", "2": "103"}
    assert "Main number +14165550100" in first
