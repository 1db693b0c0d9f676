"""The dial plan: what a string of keypad characters means, as a pure function.

`resolve()` turns what the user dialled into a `Route`: an extension to look up in the
caller's organisation, a park slot (6xx), a conference room (7xx), voicemail (*86 and 999 your
own mailbox, *84 + extension any mailbox, *85 + extension its greeting), an outside number for
the carrier, an emergency call, or a refusal with a sentence for the user. Which
organisation owns the extension is the caller's: the plan never reaches another tenant.
911 is checked first and never refused by any rule here.
"""

import re
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers

EMERGENCY_NUMBER = "911"
MAX_DIALLED_LENGTH = 32
_ALLOWED = re.compile(r"^\+?[0-9*#]+$")
_SEPARATORS = re.compile(r"[\s\-().]")


class RouteKind(StrEnum):
    EXTENSION = "extension"
    PARK = "park"
    CONFERENCE = "conference"
    VOICEMAIL = "voicemail"  # *86 or 999: your own mailbox
    VOICEMAIL_LOGIN = "voicemail_login"  # *84 + extension: that mailbox, with its PIN
    VOICEMAIL_GREETING = "voicemail_greeting"  # *85 + extension: hear that mailbox's greeting
    OUTSIDE = "outside"
    EMERGENCY = "emergency"
    INVALID = "invalid"


@dataclass(frozen=True)
class Route:
    kind: RouteKind
    dialled: str
    target: str = ""  # the extension, or the E.164 number
    message: str = ""  # for INVALID: what the user is told


def normalise_dialled(raw: str) -> str:
    """Strip the separators people type or paste: spaces, dashes, dots and parentheses."""
    return _SEPARATORS.sub("", raw or "")


def _outside(dialled: str, region: str) -> Route | None:
    digits = dialled.lstrip("+")
    if not digits.isdigit():
        return None
    candidates = [dialled] if dialled.startswith("+") else []
    if len(digits) == 10 or (len(digits) == 11 and digits.startswith("1")):
        candidates.append(digits)
    for text in candidates:
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            return Route(RouteKind.OUTSIDE, dialled, target=e164)
    return None


def resolve(raw: str, *, region: str = "CA") -> Route:
    """What dialling `raw` means in the plan (the extension itself is looked up by the caller)."""
    dialled = normalise_dialled(raw)
    if not dialled:
        return Route(RouteKind.INVALID, dialled, message="Enter a number or an extension to call.")
    if len(dialled) > MAX_DIALLED_LENGTH or not _ALLOWED.match(dialled):
        message = "A number can hold only digits, *, # and a leading +."
        return Route(RouteKind.INVALID, dialled[:MAX_DIALLED_LENGTH], message=message)
    if dialled == EMERGENCY_NUMBER:
        return Route(RouteKind.EMERGENCY, dialled, target=EMERGENCY_NUMBER)
    if dialled in ("*86", "999"):
        return Route(RouteKind.VOICEMAIL, dialled)
    if re.fullmatch(r"\*84[1-9][0-9]{2,3}", dialled):
        return Route(RouteKind.VOICEMAIL_LOGIN, dialled, target=dialled[3:])
    if re.fullmatch(r"\*85[1-9][0-9]{2,3}", dialled):
        return Route(RouteKind.VOICEMAIL_GREETING, dialled, target=dialled[3:])
    if re.fullmatch(r"6[0-9]{2}", dialled):
        return Route(RouteKind.PARK, dialled, target=dialled)
    if re.fullmatch(r"7[0-9]{2}", dialled):
        return Route(RouteKind.CONFERENCE, dialled, target=dialled)
    if re.fullmatch(r"[1-9][0-9]{2,3}", dialled):
        return Route(RouteKind.EXTENSION, dialled, target=dialled)
    outside = _outside(dialled, region)
    if outside is not None:
        return outside
    message = f"{dialled} is not an extension or a phone number that can be called."
    return Route(RouteKind.INVALID, dialled, message=message)
