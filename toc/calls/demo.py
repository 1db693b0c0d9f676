"""The demo organisation's conference rooms: 700 (open) and 701 (with a PIN).

The PIN is random per installation, kept beside the demo passwords, so running `make run` again
prints the same one.
"""

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from toc.accounts.demo import DEMO_SLUG
from toc.accounts.models import Organisation, User
from toc.calls.models import ConferenceRoom
from toc.calls.services import create_room

ROOMS = [("700", "Main room", False), ("701", "Board room", True)]


@dataclass(frozen=True)
class DemoRoom:
    extension: str
    name: str
    pin: str


def _random_pin() -> str:
    while True:
        pin = f"{secrets.randbelow(10_000):04d}"
        if len(set(pin)) > 2 and pin not in "0123456789" and pin not in "9876543210":
            return pin


def seed_demo_rooms(*, passwords_file: Path) -> list[DemoRoom]:
    """Create the demo organisation's rooms once (after `seed_demo`); the rooms that exist."""
    stored: dict[str, str] = json.loads(passwords_file.read_text()) if passwords_file.exists() else {}
    organisation = Organisation.objects.get(slug=DEMO_SLUG)
    owner = User.objects.filter(organisation=organisation, is_org_admin=True).order_by("extension").first()
    rooms = []
    with transaction.atomic():
        for extension, name, has_pin in ROOMS:
            key = f"room:{extension}"
            pin = (stored.get(key) or _random_pin()) if has_pin else ""
            if not ConferenceRoom.objects.filter(organisation=organisation, extension=extension).exists():
                create_room(organisation_id=organisation.pk, name=name, extension=extension, owner=owner, pin=pin)
            if pin:
                stored[key] = pin
            rooms.append(DemoRoom(extension, name, pin if key in stored else ""))
    passwords_file.write_text(json.dumps(stored, indent=2))
    return rooms
