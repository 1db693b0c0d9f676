"""Phone-number parsing shared by every app: E.164 in storage, the region's format for input."""

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError


def normalise_e164(raw: str, *, field: str) -> str:
    """Return `raw` as E.164 (+14165550123), or "" for blank; refuse what is not a number."""
    text = raw.strip()
    if not text:
        return ""
    try:
        number = phonenumbers.parse(text, settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException as error:
        raise ValidationError({field: f"“{text}” is not a phone number."}) from error
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            {field: f"“{text}” is not a valid phone number. Use a full number, e.g. +1 416 555 0123."}
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_for_display(e164: str) -> str:
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164  # a short code or a sender name (SMS), shown as it came
    region = phonenumbers.region_code_for_number(number)
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if region == settings.PHONE_DEFAULT_REGION or number.country_code == 1
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, style)


def digits_of(text: str) -> str:
    return "".join(character for character in text if character.isdigit())
