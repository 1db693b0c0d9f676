"""The demo organisation the embedded default seeds: six users, extensions 101-106.

Passwords are random per installation and kept in the data folder (readable by its owner
only) so that running `make run` again prints the same logins.
"""

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from toc.accounts import services
from toc.accounts.models import LicenceTier, Organisation, User

DEMO_SLUG = "demo"
DEMO_DOMAIN = "demo.toc.example"
PEOPLE = [
    ("Alice", "Martin", "101", True, "+14165550101"),
    ("Bob", "Tremblay", "102", False, "+14165550102"),
    ("Chloé", "Nguyen", "103", False, "+14165550103"),
    ("David", "Roy", "104", False, "+14165550104"),
    ("Emma", "Singh", "105", False, "+14165550105"),
    ("Félix", "Gagnon", "106", False, "+14165550106"),
]


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    extension: str
    name: str
    is_admin: bool


def _email_for(first_name: str) -> str:
    ascii_name = first_name.lower().replace("é", "e")
    return f"{ascii_name}@{DEMO_DOMAIN}"


def _write_passwords(path: Path, passwords: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(passwords, handle, indent=2)


def seed_demo(*, passwords_file: Path) -> list[DemoLogin]:
    """Create the demo organisation once; afterwards return the logins that exist."""
    stored: dict[str, str] = json.loads(passwords_file.read_text()) if passwords_file.exists() else {}
    with transaction.atomic():
        organisation = Organisation.objects.filter(slug=DEMO_SLUG).first()
        if organisation is None:
            organisation = services.create_organisation(
                name="Demo Company", slug=DEMO_SLUG, licence_tier=LicenceTier.PLATINUM
            )
            services.add_sso_domain(organisation=organisation, domain=DEMO_DOMAIN)
        logins = []
        for first_name, last_name, extension, is_admin, direct_number in PEOPLE:
            email = _email_for(first_name)
            user = User.objects.filter(email=email).first()
            password = stored.get(email) or f"toc-{secrets.token_hex(5)}"
            if user is None:
                services.create_user(
                    organisation=organisation,
                    email=email,
                    password=password,
                    first_name=first_name,
                    last_name=last_name,
                    extension=extension,
                    direct_number=direct_number,
                    is_org_admin=is_admin,
                    is_greetings_manager=is_admin,
                )
            elif email not in stored:
                user.set_password(password)
                user.save(update_fields=["password"])
            stored[email] = password
            logins.append(DemoLogin(email, password, extension, f"{first_name} {last_name}", is_admin))
    _write_passwords(passwords_file, stored)
    return logins
