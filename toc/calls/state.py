"""The call state machine: pure functions over a frozen value, `now` passed in.

A call goes DIALING -> RINGING -> ANSWERED -> ENDED, and can end from any live state. What
may happen in each state is the table `TRANSITIONS`: (state, event) -> (next state, end
reason). Who may cause an event is checked here too (`ALLOWED_PARTIES`): only the callee
answers or declines, only the caller cancels by hanging up before the answer, either party
hangs up an answered call, and the system (timers, the media engine) causes the rest.
Anything else raises `InvalidTransitionError` and changes nothing. A leg (one endpoint's media
connection) has its own small machine: NEW -> CONNECTED -> ENDED.

The services in `toc.calls.services` load a call under a row lock, apply one event here and
store the result, so this module is the only place the rules live.
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum


class CallState(StrEnum):
    DIALING = "dialing"
    RINGING = "ringing"
    ANSWERED = "answered"
    ENDED = "ended"


class EndReason(StrEnum):
    COMPLETED = "completed"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    UNREACHABLE = "unreachable"
    FAILED = "failed"


class CallEvent(StrEnum):
    RING = "ring"  # the callee's sessions were alerted
    ANSWER = "answer"
    DECLINE = "decline"
    HANGUP = "hangup"
    TIMEOUT = "timeout"  # the ring timeout passed
    BUSY = "busy"  # the callee cannot take another call
    UNREACHABLE = "unreachable"  # the callee has no session to ring
    FAIL = "fail"  # media or system failure


class Party(StrEnum):
    CALLER = "caller"
    CALLEE = "callee"
    SYSTEM = "system"


class InvalidTransitionError(Exception):
    """The event is not possible in the call's state, or not by this party."""


_D, _R, _A, _E = CallState.DIALING, CallState.RINGING, CallState.ANSWERED, CallState.ENDED

TRANSITIONS: dict[tuple[CallState, CallEvent], tuple[CallState, EndReason | None]] = {
    (_D, CallEvent.RING): (_R, None),
    (_D, CallEvent.HANGUP): (_E, EndReason.CANCELLED),
    (_D, CallEvent.BUSY): (_E, EndReason.BUSY),
    (_D, CallEvent.UNREACHABLE): (_E, EndReason.UNREACHABLE),
    (_D, CallEvent.FAIL): (_E, EndReason.FAILED),
    (_R, CallEvent.ANSWER): (_A, None),
    (_R, CallEvent.DECLINE): (_E, EndReason.DECLINED),
    (_R, CallEvent.HANGUP): (_E, EndReason.CANCELLED),
    (_R, CallEvent.TIMEOUT): (_E, EndReason.NO_ANSWER),
    (_R, CallEvent.UNREACHABLE): (_E, EndReason.UNREACHABLE),
    (_R, CallEvent.FAIL): (_E, EndReason.FAILED),
    (_A, CallEvent.HANGUP): (_E, EndReason.COMPLETED),
    (_A, CallEvent.FAIL): (_E, EndReason.FAILED),
}

ALLOWED_PARTIES: dict[CallEvent, frozenset[Party]] = {
    CallEvent.RING: frozenset({Party.SYSTEM}),
    CallEvent.ANSWER: frozenset({Party.CALLEE}),
    CallEvent.DECLINE: frozenset({Party.CALLEE}),
    CallEvent.HANGUP: frozenset({Party.CALLER, Party.CALLEE, Party.SYSTEM}),
    CallEvent.TIMEOUT: frozenset({Party.SYSTEM}),
    CallEvent.BUSY: frozenset({Party.SYSTEM}),
    CallEvent.UNREACHABLE: frozenset({Party.SYSTEM}),
    CallEvent.FAIL: frozenset({Party.SYSTEM}),
}

# Before the answer only the caller can hang up (that is a cancel); the callee declines.
_CALLER_ONLY_BEFORE_ANSWER = {(_D, CallEvent.HANGUP), (_R, CallEvent.HANGUP)}


@dataclass(frozen=True)
class CallValue:
    state: CallState = CallState.DIALING
    end_reason: EndReason | None = None
    created_at: datetime | None = None
    ringing_at: datetime | None = None
    ring_deadline: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None


def apply(call: CallValue, event: CallEvent, *, party: Party, now: datetime, ring_timeout: timedelta) -> CallValue:
    """The call after `event` caused by `party` at `now`; raises InvalidTransitionError."""
    key = (call.state, event)
    if key not in TRANSITIONS:
        raise InvalidTransitionError(f"A call that is {call.state.value} cannot take “{event.value}”.")
    if party not in ALLOWED_PARTIES[event] or (key in _CALLER_ONLY_BEFORE_ANSWER and party is Party.CALLEE):
        raise InvalidTransitionError(f"The {party.value} cannot {event.value} a call that is {call.state.value}.")
    if event is CallEvent.TIMEOUT and call.ring_deadline is not None and now < call.ring_deadline:
        raise InvalidTransitionError("The ring timeout has not passed yet.")
    next_state, reason = TRANSITIONS[key]
    if next_state is CallState.RINGING:
        return replace(call, state=next_state, ringing_at=now, ring_deadline=now + ring_timeout)
    if next_state is CallState.ANSWERED:
        return replace(call, state=next_state, answered_at=now, ring_deadline=None)
    return replace(call, state=next_state, end_reason=reason, ended_at=now, ring_deadline=None)


class LegState(StrEnum):
    NEW = "new"
    CONNECTED = "connected"
    ENDED = "ended"


LEG_TRANSITIONS: dict[LegState, frozenset[LegState]] = {
    LegState.NEW: frozenset({LegState.CONNECTED, LegState.ENDED}),
    LegState.CONNECTED: frozenset({LegState.ENDED}),
    LegState.ENDED: frozenset(),
}


def advance_leg(current: LegState, target: LegState) -> LegState:
    """The leg's next state; raises InvalidTransitionError for a move the table does not allow."""
    if target not in LEG_TRANSITIONS[current]:
        raise InvalidTransitionError(f"A leg that is {current.value} cannot become {target.value}.")
    return target


def history_direction(*, viewer_is_caller: bool, answered: bool, end_reason: EndReason | None) -> str:
    """How one participant files an ended call: outgoing, incoming, or missed. A call the
    callee declined was seen, so it is incoming, not missed."""
    if viewer_is_caller:
        return "outgoing"
    return "incoming" if answered or end_reason is EndReason.DECLINED else "missed"
