"""Entering a conference room's PIN on the keypad, as a pure function (no database)."""

from collections.abc import Iterable

import pytest

from toc.calls.conference_pin import MAX_ATTEMPTS, MAX_DIGITS, PinEntry, PinOutcome, enter_key


def is_4321(pin: str) -> bool:
    return pin == "4321"


def press(keys: Iterable[str], entry: PinEntry | None = None) -> tuple[PinEntry, list[PinOutcome]]:
    """The entry after the keys, and the outcome of each key."""
    current = entry or PinEntry()
    outcomes = []
    for key in keys:
        current, outcome = enter_key(current, key, is_correct=is_4321)
        outcomes.append(outcome)
    return current, outcomes


def test_digits_collect_until_hash() -> None:
    # when
    entry, outcomes = press("432")

    # then
    assert entry == PinEntry(digits="432", attempts=0)
    assert outcomes == [PinOutcome.COLLECTING] * 3


def test_the_right_pin_then_hash_admits() -> None:
    # when
    entry, outcomes = press("4321#")

    # then
    assert entry == PinEntry(digits="", attempts=0)
    assert outcomes[-1] is PinOutcome.ADMITTED


def test_a_wrong_pin_clears_the_digits_and_counts_an_attempt() -> None:
    # when
    entry, outcomes = press("1111#")

    # then
    assert entry == PinEntry(digits="", attempts=1)
    assert outcomes == [PinOutcome.COLLECTING] * 4 + [PinOutcome.WRONG]


def test_the_right_pin_after_a_wrong_one_admits_and_keeps_the_count() -> None:
    # when
    entry, outcomes = press("1111#4321#")

    # then
    assert entry == PinEntry(digits="", attempts=1)
    assert (outcomes[4], outcomes[-1]) == (PinOutcome.WRONG, PinOutcome.ADMITTED)


def test_hash_with_no_digits_is_a_wrong_pin() -> None:
    # when
    entry, outcomes = press("#")

    # then
    assert (entry, outcomes) == (PinEntry(digits="", attempts=1), [PinOutcome.WRONG])


def test_star_starts_the_entry_again() -> None:
    # when
    entry, outcomes = press("99*4321#")

    # then
    assert entry == PinEntry(digits="", attempts=0)
    assert outcomes == [PinOutcome.COLLECTING] * 7 + [PinOutcome.ADMITTED]


def test_star_alone_clears_only_the_digits() -> None:
    # when
    entry, outcome = enter_key(PinEntry(digits="12", attempts=2), "*", is_correct=is_4321)

    # then
    assert (entry, outcome) == (PinEntry(digits="", attempts=2), PinOutcome.COLLECTING)


def test_the_third_wrong_pin_locks_out() -> None:
    # when
    entry, outcomes = press("1#2#3#")

    # then
    assert entry == PinEntry(digits="", attempts=MAX_ATTEMPTS)
    assert [outcome for outcome in outcomes if outcome is not PinOutcome.COLLECTING] == [
        PinOutcome.WRONG,
        PinOutcome.WRONG,
        PinOutcome.LOCKED_OUT,
    ]


@pytest.mark.parametrize("key", ["4", "#", "*"])
def test_once_locked_out_every_key_stays_locked_out(key: str) -> None:
    # given
    locked = PinEntry(digits="", attempts=3)

    # when
    entry, outcome = enter_key(locked, key, is_correct=lambda pin: True)

    # then
    assert (entry, outcome) == (locked, PinOutcome.LOCKED_OUT)


def test_the_right_pin_cannot_be_tried_after_the_lock_out() -> None:
    # when
    entry, outcomes = press("1#2#3#4321#")

    # then
    assert outcomes[-5:] == [PinOutcome.LOCKED_OUT] * 5
    assert entry == PinEntry(digits="", attempts=3)


def test_at_most_eight_digits_are_kept_the_last_ones() -> None:
    # when
    entry, _ = press("123456789")

    # then
    assert MAX_DIGITS == 8
    assert entry == PinEntry(digits="23456789", attempts=0)


def test_all_kept_digits_are_checked_not_just_the_last_ones() -> None:
    # when nine digits, the last four of them the PIN
    entry, outcomes = press("123454321#")

    # then the kept digits are "23454321", which is not the PIN
    assert (outcomes[-1], entry.attempts) == (PinOutcome.WRONG, 1)


@pytest.mark.parametrize("key", ["a", "", "12", " ", "A"])
def test_keys_that_are_not_keypad_keys_are_ignored(key: str) -> None:
    # given
    entry = PinEntry(digits="43", attempts=1)

    # when
    after, outcome = enter_key(entry, key, is_correct=is_4321)

    # then
    assert (after, outcome) == (entry, PinOutcome.COLLECTING)


def test_the_checker_sees_only_the_collected_digits() -> None:
    # given
    seen: list[str] = []

    def check(pin: str) -> bool:
        seen.append(pin)
        return False

    # when
    entry = PinEntry()
    for key in "12*56#":
        entry, _ = enter_key(entry, key, is_correct=check)

    # then
    assert seen == ["56"]


def test_the_entry_is_never_changed_in_place() -> None:
    # given
    entry = PinEntry(digits="43", attempts=1)

    # when
    enter_key(entry, "2", is_correct=is_4321)
    enter_key(entry, "#", is_correct=is_4321)

    # then
    assert entry == PinEntry(digits="43", attempts=1)
