"""What every SMS write shares: the error users see, and reading an outside number."""

import phonenumbers
from django.conf import settings


class SmsError(Exception):
    """A request TOC refuses, with the field it concerns and a message for the user."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def canadian_number(raw: str, *, field: str = "to") -> str:
    """`raw` as E.164 if it is a valid Canadian number; SmsError otherwise."""
    text = raw.strip()
    if not text:
        raise SmsError(field, "Enter the cellphone number to text.")
    try:
        number = phonenumbers.parse(text, settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException as error:
        raise SmsError(field, f"“{text}” is not a phone number.") from error
    if not phonenumbers.is_valid_number(number):
        raise SmsError(field, f"“{text}” is not a valid phone number. Use a full number, e.g. 416 555 0123.")
    if phonenumbers.region_code_for_number(number) != "CA":
        raise SmsError(field, "SMS can only be sent to Canadian numbers.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
