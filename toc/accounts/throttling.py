"""Password-login throttling policy, as pure functions over a frozen state.

A key (an e-mail address, or a client address with looser limits) collects failures. The
first few are free; after that each further attempt must wait twice as long as the one
before (1 s, 2 s, 4 s … capped), and past the lock threshold the key is locked for a while.
A success clears the e-mail key. Failures are forgotten once a key has gone a lock time
without one: the address key is never cleared by a success, and without forgetting, an office
behind one address would slowly collect failures until every typo locked everyone out.
No clock and no database here: `now` is passed in and the service stores the result under a
row lock.
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

MAX_DELAY_SECONDS = 60


@dataclass(frozen=True)
class ThrottlePolicy:
    failures_before_delay: int
    failures_before_lock: int
    lock_seconds: int


@dataclass(frozen=True)
class ThrottleState:
    failure_count: int = 0
    next_attempt_at: datetime | None = None
    locked_until: datetime | None = None
    last_failure_at: datetime | None = None


def seconds_to_wait(state: ThrottleState, now: datetime) -> int:
    """How long the key must wait before its next attempt (0: it may try now)."""
    waits = [moment for moment in (state.locked_until, state.next_attempt_at) if moment]
    latest = max(waits, default=None)
    if latest is None or latest <= now:
        return 0
    return max(1, int((latest - now).total_seconds() + 0.999))


def is_locked(state: ThrottleState, now: datetime) -> bool:
    return state.locked_until is not None and state.locked_until > now


def is_forgotten(state: ThrottleState, now: datetime, policy: ThrottlePolicy) -> bool:
    """Whether the key's failures are old enough (a lock time without one) to start afresh."""
    if is_locked(state, now) or state.last_failure_at is None:
        return False
    return now - state.last_failure_at >= timedelta(seconds=policy.lock_seconds)


def after_failure(state: ThrottleState, now: datetime, policy: ThrottlePolicy) -> ThrottleState:
    if is_forgotten(state, now, policy):
        state = ThrottleState()
    count = state.failure_count + 1
    if count >= policy.failures_before_lock:
        return ThrottleState(
            failure_count=count,
            next_attempt_at=None,
            locked_until=now + timedelta(seconds=policy.lock_seconds),
            last_failure_at=now,
        )
    if count >= policy.failures_before_delay:
        delay = min(2 ** (count - policy.failures_before_delay), MAX_DELAY_SECONDS)
        return replace(state, failure_count=count, next_attempt_at=now + timedelta(seconds=delay), last_failure_at=now)
    return replace(state, failure_count=count, last_failure_at=now)


def after_success() -> ThrottleState:
    return ThrottleState()
