"""What `manage.py seed_demo` (and so `make run`) says about SMS."""

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from tests.sms.conftest import ACCOUNT_SID, AUTH_TOKEN
from toc.sms.backends import _backend

pytestmark = pytest.mark.django_db


def test_the_demo_says_whether_texts_reach_a_carrier(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path
    local = io.StringIO()
    call_command("seed_demo", stdout=local)
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = ACCOUNT_SID, AUTH_TOKEN
    _backend.cache_clear()
    twilio = io.StringIO()
    call_command("seed_demo", stdout=twilio)
    assert local.getvalue().splitlines()[-2:] == [
        "SMS: no carrier is configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN), so texts are kept and marked "
        "'Not sent'.",
        "  Receive one as if from a cellphone: .venv/bin/python manage.py sms_receive --to +14165550101 "
        '--from "416 555 0199" "Hello"',
    ]
    assert twilio.getvalue().splitlines()[-1] == "SMS: through Twilio, from each user's direct number."
