from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from toc.accounts.demo import seed_demo


class Command(BaseCommand):
    help = "Create the demo organisation (six users, extensions 101-106) and print their logins."

    def handle(self, *args: Any, **options: Any) -> None:
        for login in seed_demo(passwords_file=settings.VAR_DIR / "demo_logins.json"):
            role = " (admin)" if login.is_admin else ""
            self.stdout.write(f"  {login.extension}  {login.name:<16} {login.email:<28} {login.password}{role}")
