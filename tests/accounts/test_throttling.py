"""The password-login throttle policy: pure functions, no database, `now` passed in."""

from datetime import UTC, datetime, timedelta

from toc.accounts.throttling import (
    MAX_DELAY_SECONDS,
    ThrottlePolicy,
    ThrottleState,
    after_failure,
    after_success,
    is_locked,
    seconds_to_wait,
)

NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
POLICY = ThrottlePolicy(failures_before_delay=3, failures_before_lock=10, lock_seconds=900)


def fail(times: int, *, state: ThrottleState | None = None, at: datetime = NOW) -> ThrottleState:
    current = state or ThrottleState()
    for _ in range(times):
        current = after_failure(current, at, POLICY)
    return current


def test_a_fresh_key_may_try_now():
    # when
    wait = seconds_to_wait(ThrottleState(), NOW)

    # then
    assert wait == 0
    assert is_locked(ThrottleState(), NOW) is False


def test_failures_below_the_delay_threshold_cost_nothing():
    # when
    state = fail(2)

    # then
    assert state == ThrottleState(failure_count=2, next_attempt_at=None, locked_until=None, last_failure_at=NOW)
    assert seconds_to_wait(state, NOW) == 0


def test_the_failure_that_reaches_the_threshold_delays_the_next_attempt_by_one_second():
    # when
    state = fail(3)

    # then
    assert state.failure_count == 3
    assert state.next_attempt_at == NOW + timedelta(seconds=1)
    assert state.locked_until is None
    assert seconds_to_wait(state, NOW) == 1
    assert is_locked(state, NOW) is False


def test_each_further_failure_doubles_the_delay():
    # given
    delays = []
    state = fail(2)

    # when
    for _ in range(4):
        state = after_failure(state, NOW, POLICY)
        delays.append(seconds_to_wait(state, NOW))

    # then
    assert delays == [1, 2, 4, 8]


def test_the_delay_is_capped():
    # given a policy whose lock is far away
    policy = ThrottlePolicy(failures_before_delay=1, failures_before_lock=100, lock_seconds=900)
    state = ThrottleState()

    # when
    for _ in range(20):
        state = after_failure(state, NOW, policy)

    # then
    assert seconds_to_wait(state, NOW) == MAX_DELAY_SECONDS


def test_the_delay_is_over_once_its_time_has_passed():
    # given
    state = fail(4)

    # when / then
    assert seconds_to_wait(state, NOW + timedelta(seconds=1)) == 1
    assert seconds_to_wait(state, NOW + timedelta(seconds=1, milliseconds=500)) == 1
    assert seconds_to_wait(state, NOW + timedelta(seconds=2)) == 0


def test_a_part_second_still_counts_as_one_second():
    # given
    state = ThrottleState(failure_count=3, next_attempt_at=NOW + timedelta(milliseconds=1))

    # when
    wait = seconds_to_wait(state, NOW)

    # then
    assert wait == 1


def test_the_lock_threshold_locks_the_key_for_the_lock_time():
    # when
    state = fail(10)

    # then
    assert state.failure_count == 10
    assert state.locked_until == NOW + timedelta(seconds=900)
    assert state.next_attempt_at is None
    assert is_locked(state, NOW) is True
    assert seconds_to_wait(state, NOW) == 900
    assert seconds_to_wait(state, NOW + timedelta(seconds=899)) == 1


def test_the_lock_ends_after_the_lock_time():
    # given
    state = fail(10)

    # when
    later = NOW + timedelta(seconds=900)

    # then
    assert is_locked(state, later) is False
    assert seconds_to_wait(state, later) == 0


def test_the_longer_of_a_lock_and_a_delay_applies():
    # given
    state = ThrottleState(
        failure_count=5, next_attempt_at=NOW + timedelta(seconds=30), locked_until=NOW + timedelta(seconds=10)
    )

    # when
    wait = seconds_to_wait(state, NOW)

    # then
    assert wait == 30
    assert is_locked(state, NOW) is True


def test_failures_long_ago_are_forgotten():
    # given a key that failed often, then nothing for longer than the lock time
    state = fail(9)
    much_later = NOW + timedelta(seconds=900 + 60)

    # when
    state = after_failure(state, much_later, POLICY)

    # then it counts as the first failure again
    assert state.failure_count == 1
    assert seconds_to_wait(state, much_later) == 0
    assert is_locked(state, much_later) is False


def test_a_failure_after_the_lock_expired_starts_counting_afresh():
    # given a key whose lock has just run out
    state = fail(10)
    after_lock = NOW + timedelta(seconds=900)

    # when
    state = after_failure(state, after_lock, POLICY)

    # then
    assert state.failure_count == 1
    assert is_locked(state, after_lock) is False
    assert seconds_to_wait(state, after_lock) == 0


def test_recent_failures_keep_counting():
    # given
    state = fail(2)

    # when one more failure comes within the window
    state = after_failure(state, NOW + timedelta(seconds=899), POLICY)

    # then
    assert state.failure_count == 3
    assert state.next_attempt_at == NOW + timedelta(seconds=900)


def test_success_clears_everything():
    # given
    fail(10)

    # when
    state = after_success()

    # then
    assert state == ThrottleState()
    assert seconds_to_wait(state, NOW) == 0


def test_the_state_is_a_frozen_value():
    # given
    before = fail(3)

    # when
    after = after_failure(before, NOW, POLICY)

    # then
    assert before.failure_count == 3
    assert after.failure_count == 4
