"""The call state machine: pure functions over a frozen value, `now` passed in.

A call goes DIALING -> RINGING -> ANSWERED -> ENDED, and can end from any live state. What
may happen in each state is the table `TRANSITIONS`: (state, event) -> (next state, end
reason). Who may cause an event is checked here too (`ALLOWED_PARTIES`): only the callee
answers or declines, only the caller cancels by hanging up before the answer, either party
hangs up an answered call, and the system (timers, the media engine) causes the rest.
Anything else raises `InvalidTransitionError` and changes nothing. A leg (one endpoint's media
connection) has its own small machine: NEW -> CONNECTED -> ENDED.

Call handling re-arranges the two sides of an answered call:
- HOLD / RESUME keep it ANSWERED and set or clear `held_by`; only the party who held resumes.
- TRANSFER (blind) by one party: the other party stays, the target rings (ANSWERED ->
  RINGING); COMPLETE (attended) swaps in a target who already answered (ANSWERED -> ANSWERED).
- PARK by one party: the other party waits (ANSWERED -> PARKED) until someone picks it up
  (PICKUP -> ANSWERED) or the park timeout passes and it rings back the parker (RING_BACK ->
  RINGING). The parked party may hang up (-> ENDED).
- FORWARD: the system moves a ringing call to the next destination of the dialled user's
  routing (`toc.calls.routing`): RINGING -> RINGING with a new ring deadline.
- VOICEMAIL: the system answers for the callee's mailbox (DIALING/RINGING -> ANSWERED: no
  answer, declined, busy, unreachable), or a party sends the other to someone's voicemail
  (ANSWERED -> ANSWERED, a transfer to voicemail).
After TRANSFER, COMPLETE, PARK, PICKUP and RING_BACK the party who stays is the caller side
and the new one the callee side; the services rename the sides, this module keeps the rules.

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
    PARKED = "parked"
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
    HOLD = "hold"
    RESUME = "resume"
    TRANSFER = "transfer"  # blind: the other party stays, the target rings
    COMPLETE = "complete"  # attended: a target who already answered takes the transferor's place
    PARK = "park"
    PICKUP = "pickup"  # someone dialled the park slot
    RING_BACK = "ring_back"  # the park timeout passed: ring the parker
    VOICEMAIL = "voicemail"  # a mailbox takes the call (the caller leaves a message)
    FORWARD = "forward"  # the next destination of the dialled user's routing rings instead


class Party(StrEnum):
    CALLER = "caller"
    CALLEE = "callee"
    SYSTEM = "system"


class InvalidTransitionError(Exception):
    """The event is not possible in the call's state, or not by this party."""


_D, _R, _A, _P, _E = CallState.DIALING, CallState.RINGING, CallState.ANSWERED, CallState.PARKED, CallState.ENDED

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
    (_R, CallEvent.FORWARD): (_R, None),
    (_A, CallEvent.HANGUP): (_E, EndReason.COMPLETED),
    (_A, CallEvent.FAIL): (_E, EndReason.FAILED),
    (_A, CallEvent.HOLD): (_A, None),
    (_A, CallEvent.RESUME): (_A, None),
    (_A, CallEvent.TRANSFER): (_R, None),
    (_A, CallEvent.COMPLETE): (_A, None),
    (_A, CallEvent.PARK): (_P, None),
    (_P, CallEvent.PICKUP): (_A, None),
    (_P, CallEvent.RING_BACK): (_R, None),
    (_P, CallEvent.HANGUP): (_E, EndReason.COMPLETED),
    (_P, CallEvent.FAIL): (_E, EndReason.FAILED),
    (_D, CallEvent.VOICEMAIL): (_A, None),
    (_R, CallEvent.VOICEMAIL): (_A, None),
    (_A, CallEvent.VOICEMAIL): (_A, None),
}

_BOTH = frozenset({Party.CALLER, Party.CALLEE})

ALLOWED_PARTIES: dict[CallEvent, frozenset[Party]] = {
    CallEvent.RING: frozenset({Party.SYSTEM}),
    CallEvent.ANSWER: frozenset({Party.CALLEE, Party.SYSTEM}),  # the system: a conference room answers
    CallEvent.DECLINE: frozenset({Party.CALLEE}),
    CallEvent.HANGUP: frozenset({Party.CALLER, Party.CALLEE, Party.SYSTEM}),
    CallEvent.TIMEOUT: frozenset({Party.SYSTEM}),
    CallEvent.BUSY: frozenset({Party.SYSTEM}),
    CallEvent.UNREACHABLE: frozenset({Party.SYSTEM}),
    CallEvent.FAIL: frozenset({Party.SYSTEM}),
    CallEvent.HOLD: _BOTH,
    CallEvent.RESUME: _BOTH,
    CallEvent.TRANSFER: frozenset({Party.CALLER, Party.CALLEE, Party.SYSTEM}),  # the system: the auto attendant
    CallEvent.COMPLETE: _BOTH,
    CallEvent.PARK: _BOTH,
    CallEvent.PICKUP: frozenset({Party.CALLEE}),  # the one picking up takes the callee side
    CallEvent.RING_BACK: frozenset({Party.SYSTEM}),
    CallEvent.VOICEMAIL: frozenset({Party.CALLER, Party.CALLEE, Party.SYSTEM}),
    CallEvent.FORWARD: frozenset({Party.SYSTEM}),
}

# Before the answer only the caller can hang up (that is a cancel); the callee declines. A
# parked call has only its caller side (the one waiting).
_CALLER_ONLY = {(_D, CallEvent.HANGUP), (_R, CallEvent.HANGUP), (_P, CallEvent.HANGUP)}
# Before the answer, only the system sends a call to voicemail (the callee declines first).
_SYSTEM_ONLY = {(_D, CallEvent.VOICEMAIL), (_R, CallEvent.VOICEMAIL)}


@dataclass(frozen=True)
class CallValue:
    state: CallState = CallState.DIALING
    end_reason: EndReason | None = None
    created_at: datetime | None = None
    ringing_at: datetime | None = None
    ring_deadline: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    held_by: Party | None = None  # the side that put the answered call on hold
    park_deadline: datetime | None = None


def _check_hold(call: CallValue, event: CallEvent, party: Party) -> None:
    if event is CallEvent.HOLD and call.held_by is not None:
        raise InvalidTransitionError("The call is on hold already.")
    if event is CallEvent.RESUME and call.held_by is None:
        raise InvalidTransitionError("The call is not on hold.")
    if event is CallEvent.RESUME and call.held_by is not party:
        raise InvalidTransitionError("Only the person who put the call on hold can resume it.")


def apply(
    call: CallValue,
    event: CallEvent,
    *,
    party: Party,
    now: datetime,
    ring_timeout: timedelta,
    park_timeout: timedelta | None = None,
) -> CallValue:
    """The call after `event` caused by `party` at `now`; raises InvalidTransitionError."""
    key = (call.state, event)
    if key not in TRANSITIONS:
        raise InvalidTransitionError(f"A call that is {call.state.value} cannot take “{event.value}”.")
    if (
        party not in ALLOWED_PARTIES[event]
        or (key in _CALLER_ONLY and party is Party.CALLEE)
        or (key in _SYSTEM_ONLY and party is not Party.SYSTEM)
    ):
        raise InvalidTransitionError(f"The {party.value} cannot {event.value} a call that is {call.state.value}.")
    if event is CallEvent.TIMEOUT and call.ring_deadline is not None and now < call.ring_deadline:
        raise InvalidTransitionError("The ring timeout has not passed yet.")
    if event is CallEvent.RING_BACK and call.park_deadline is not None and now < call.park_deadline:
        raise InvalidTransitionError("The park timeout has not passed yet.")
    _check_hold(call, event, party)
    next_state, reason = TRANSITIONS[key]
    if event is CallEvent.HOLD:
        return replace(call, held_by=party)
    if event is CallEvent.RESUME:
        return replace(call, held_by=None)
    if event is CallEvent.PARK:
        if park_timeout is None:
            raise InvalidTransitionError("Parking needs the organisation's park timeout.")
        return replace(call, state=next_state, held_by=None, park_deadline=now + park_timeout)
    if next_state is CallState.RINGING:
        # Ringing a transfer target or the parker: nobody answered this arrangement yet.
        return replace(
            call,
            state=next_state,
            ringing_at=now,
            ring_deadline=now + ring_timeout,
            answered_at=None,
            held_by=None,
            park_deadline=None,
        )
    if next_state is CallState.ANSWERED:
        # `answered_at` is when the two sides as they are now began to talk (after a transfer
        # or a pickup too): the call window's timer and the history's duration count from it.
        return replace(call, state=next_state, answered_at=now, ring_deadline=None, held_by=None, park_deadline=None)
    return replace(
        call, state=next_state, end_reason=reason, ended_at=now, ring_deadline=None, held_by=None, park_deadline=None
    )


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
