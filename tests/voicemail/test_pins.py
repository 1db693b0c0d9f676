"""Voicemail PIN rules and the lockout, without a database or a clock."""

from datetime import UTC, datetime, timedelta

import pytest

from toc.voicemail.pins import LOCKOUT, PinCheck, PinGuard, check, pin_problem

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("pin", "problem"),
    [
        ("2580", ""),
        ("13579", ""),
        ("90210", ""),
        ("123", "A PIN is 4 to 8 digits long."),
        ("123456789", "A PIN is 4 to 8 digits long."),
        ("12a4", "A PIN is made of digits only."),
        ("١٢٣٤", "A PIN is made of digits only."),
        ("", "A PIN is made of digits only."),
        ("0000", "A PIN cannot be one digit repeated."),
        ("77777", "A PIN cannot be one digit repeated."),
        ("1234", "A PIN cannot be a run of digits such as 1234."),
        ("6789", "A PIN cannot be a run of digits such as 1234."),
        ("9876", "A PIN cannot be a run of digits such as 1234."),
        ("4321", "A PIN cannot be a run of digits such as 1234."),
        ("1010", ""),
        ("1041", ""),
    ],
)
def test_pin_rules(pin: str, problem: str) -> None:
    assert pin_problem(pin, extension="104") == problem


def test_the_extension_itself_is_refused() -> None:
    assert pin_problem("1042", extension="1042") == "A PIN cannot be your extension."
    assert pin_problem(1042, extension="1042") == "A PIN is made of digits only."


def test_a_right_pin_clears_the_count() -> None:
    # when
    guard, outcome = check(PinGuard(failures=3), is_right=True, now=NOW)

    # then
    assert (guard, outcome) == (PinGuard(), PinCheck.ACCEPTED)


def test_the_fifth_wrong_pin_in_a_row_locks_for_fifteen_minutes() -> None:
    # given four wrong PINs (over several calls: the count lives in the mailbox)
    guard = PinGuard()
    for _ in range(4):
        guard, outcome = check(guard, is_right=False, now=NOW)
        assert outcome is PinCheck.WRONG

    # when the fifth is wrong too
    guard, outcome = check(guard, is_right=False, now=NOW)

    # then the mailbox is locked, and even the right PIN is not checked until it runs out
    assert (guard, outcome) == (PinGuard(failures=5, locked_until=NOW + LOCKOUT), PinCheck.LOCKED)
    assert check(guard, is_right=True, now=NOW + LOCKOUT - timedelta(seconds=1)) == (guard, PinCheck.LOCKED)
    assert check(guard, is_right=True, now=NOW + LOCKOUT) == (PinGuard(), PinCheck.ACCEPTED)


def test_after_a_lockout_the_count_starts_afresh() -> None:
    # given a lockout that has run out
    guard = PinGuard(failures=5, locked_until=NOW)

    # when one more wrong PIN comes
    guard, outcome = check(guard, is_right=False, now=NOW + timedelta(minutes=1))

    # then it counts as the first
    assert (guard, outcome) == (PinGuard(failures=1), PinCheck.WRONG)
