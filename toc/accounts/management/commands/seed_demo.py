from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from toc.accounts.demo import seed_demo
from toc.calls.demo import seed_demo_rooms
from toc.chat.demo import GROUP_NAME, seed_demo_chat
from toc.sms.demo import sms_summary
from toc.voicemail.demo import MAIN_NUMBER, seed_demo_voicemail


class Command(BaseCommand):
    help = "Create the demo organisation (users 101-106, rooms 700-701, PINs, a chat group) and print the logins."

    def handle(self, *args: Any, **options: Any) -> None:
        for login in seed_demo(passwords_file=settings.VAR_DIR / "demo_logins.json"):
            role = " (admin)" if login.is_admin else ""
            self.stdout.write(f"  {login.extension}  {login.name:<16} {login.email:<28} {login.password}{role}")
        self.stdout.write("Conference rooms (dial the extension, or use the Conference window):\n")
        for room in seed_demo_rooms(passwords_file=settings.VAR_DIR / "demo_logins.json"):
            pin = f"PIN {room.pin}" if room.pin else "no PIN"
            self.stdout.write(f"  {room.extension}  {room.name:<16} {pin}")
        self.stdout.write("Voicemail PINs (dial *86 for your mailbox):\n")
        pins = seed_demo_voicemail(passwords_file=settings.VAR_DIR / "demo_logins.json")
        self.stdout.write("  " + "   ".join(f"{extension}: {pin}" for extension, pin in pins))
        self.stdout.write(f"Main number {MAIN_NUMBER}: dial it for the company greeting (1 Bob, 2 Chloé, 0 Alice).")
        seed_demo_chat()
        self.stdout.write(f"Chat: everyone is in the group {GROUP_NAME!r}.")
        self.stdout.write(sms_summary())
