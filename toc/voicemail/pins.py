"""Voicemail PIN rules and the lockout, as pure functions (no clock, no database).

A PIN is 4 to 8 digits and not trivial: not one digit repeated (0000), not a run up or down
(1234, 9876), not the mailbox's own extension. Wrong PINs are counted across calls; the fifth
in a row locks the mailbox for 15 minutes, and a right PIN (outside a lockout) clears the count.
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise

MIN_LENGTH = 4
MAX_LENGTH = 8
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)


def pin_problem(pin: object, *, extension: str) -> str:
    """Why `pin` cannot be a mailbox's PIN, in words; "" when it can."""
    if not isinstance(pin, str) or not pin.isascii() or not pin.isdigit():
        return "A PIN is made of digits only."
    if not MIN_LENGTH <= len(pin) <= MAX_LENGTH:
        return f"A PIN is {MIN_LENGTH} to {MAX_LENGTH} digits long."
    if len(set(pin)) == 1:
        return "A PIN cannot be one digit repeated."
    steps = {int(b) - int(a) for a, b in pairwise(pin)}
    if steps in ({1}, {-1}):
        return "A PIN cannot be a run of digits such as 1234."
    if extension and pin == extension:
        return "A PIN cannot be your extension."
    return ""


class PinCheck(StrEnum):
    ACCEPTED = "accepted"
    WRONG = "wrong"
    LOCKED = "locked"  # locked now or already: nothing was checked


@dataclass(frozen=True)
class PinGuard:
    """A mailbox's wrong-PIN count and lockout."""

    failures: int = 0
    locked_until: datetime | None = None

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until


def check(guard: PinGuard, *, is_right: bool, now: datetime) -> tuple[PinGuard, PinCheck]:
    """The guard after one PIN attempt, and its outcome. While locked nothing is checked; a
    lockout that has run out starts a fresh count."""
    if guard.is_locked(now):
        return guard, PinCheck.LOCKED
    if guard.locked_until is not None:
        guard = PinGuard()
    if is_right:
        return PinGuard(), PinCheck.ACCEPTED
    failures = guard.failures + 1
    if failures >= MAX_FAILURES:
        return replace(guard, failures=failures, locked_until=now + LOCKOUT), PinCheck.LOCKED
    return replace(guard, failures=failures), PinCheck.WRONG
