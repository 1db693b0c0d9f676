"""Entering a conference room's PIN on the keypad, as a pure function (no clock, no database).

Digits collect until # (at most 8 are kept); # checks them. A wrong PIN clears the digits and
counts an attempt; the third wrong PIN locks the caller out (the call engine then says goodbye
and hangs up). `*` starts the entry again.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

MAX_ATTEMPTS = 3
MAX_DIGITS = 8


class PinOutcome(StrEnum):
    COLLECTING = "collecting"
    WRONG = "wrong"
    ADMITTED = "admitted"
    LOCKED_OUT = "locked_out"


@dataclass(frozen=True)
class PinEntry:
    digits: str = ""
    attempts: int = 0  # wrong PINs so far


def enter_key(entry: PinEntry, key: str, *, is_correct: Callable[[str], bool]) -> tuple[PinEntry, PinOutcome]:
    """The entry after one keypad key, and what it led to."""
    if entry.attempts >= MAX_ATTEMPTS:
        return entry, PinOutcome.LOCKED_OUT
    if key == "*":
        return replace(entry, digits=""), PinOutcome.COLLECTING
    if key != "#":
        if not key.isdigit() or len(key) != 1:
            return entry, PinOutcome.COLLECTING
        return replace(entry, digits=(entry.digits + key)[-MAX_DIGITS:]), PinOutcome.COLLECTING
    if entry.digits and is_correct(entry.digits):
        return PinEntry(digits="", attempts=entry.attempts), PinOutcome.ADMITTED
    attempts = entry.attempts + 1
    outcome = PinOutcome.LOCKED_OUT if attempts >= MAX_ATTEMPTS else PinOutcome.WRONG
    return PinEntry(digits="", attempts=attempts), outcome
