"""Deliver a text to one of TOC's numbers as if it had come from the carrier, through the same
service the Twilio webhook uses: for trying SMS on the embedded default, which has no carrier.

    python manage.py sms_receive --to +14165550101 --from "416 555 0199" "Hello"
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from toc.sms import services
from toc.sms.services import SmsError


class Command(BaseCommand):
    help = "Receive a text on a user's direct number, as if from the carrier (local testing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--to", required=True, help="The user's direct number.")
        parser.add_argument("--from", dest="from_number", required=True, help="The sender's Canadian number.")
        parser.add_argument("body", help="The text.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            to_number = services.canadian_number(options["to"], field="to")
            from_number = services.canadian_number(options["from_number"], field="from")
        except SmsError as error:
            raise CommandError(error.message) from error
        message = services.receive_message(
            to_number=to_number,
            from_number=from_number,
            body=options["body"],
            provider_sid="",
            media=[],
            backend="local",
        )
        if message is None:
            raise CommandError(f"{to_number} is nobody's direct number.")
        self.stdout.write(f"Received for {message.thread.user.email} in thread {message.thread_id}.\n")
