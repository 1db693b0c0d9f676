"""The demo organisation's voicemail: a PIN for each demo user, the main number, and the
company greeting's choices (1 Bob, 2 Chloé, 0 Alice the operator).

The PINs are random per installation and kept beside the demo passwords, so running
`make run` again prints the same ones.
"""

import json
import secrets
from pathlib import Path

from django.db import transaction

from toc.accounts.demo import DEMO_SLUG
from toc.accounts.models import Organisation, User
from toc.voicemail import company, pins, services
from toc.voicemail.models import CompanyGreeting

MAIN_NUMBER = "+14165550100"
CHOICES = {"1": "102", "2": "103", "0": "101"}


def _random_pin(extension: str) -> str:
    while True:
        pin = f"{secrets.randbelow(10_000):04d}"
        if not pins.pin_problem(pin, extension=extension):
            return pin


def seed_demo_voicemail(*, passwords_file: Path) -> list[tuple[str, str]]:
    """Give every demo user a voicemail PIN (once) and the organisation its main number and
    company greeting; the (extension, PIN) pairs, in extension order."""
    stored: dict[str, str] = json.loads(passwords_file.read_text()) if passwords_file.exists() else {}
    organisation = Organisation.objects.get(slug=DEMO_SLUG)
    users = list(User.objects.filter(organisation=organisation).exclude(extension="").order_by("extension"))
    result = []
    with transaction.atomic():
        for user in users:
            key = f"voicemail:{user.extension}"
            mailbox = services.get_mailbox(user=user)
            if not mailbox.pin_hash:
                stored[key] = stored.get(key) or _random_pin(user.extension)
                services.set_pin(user=user, pin=stored[key])
            if key in stored:
                result.append((user.extension, stored[key]))
        if not organisation.main_number:
            organisation.main_number = MAIN_NUMBER
            organisation.save(update_fields=["main_number"])
        manager = next((user for user in users if user.is_greetings_manager), None)
        if manager is not None and not CompanyGreeting.objects.filter(organisation=organisation).exists():
            company.set_options(user=manager, options=CHOICES)
    passwords_file.write_text(json.dumps(stored, indent=2))
    return result
