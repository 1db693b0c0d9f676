"""The call state machine as tables: every (state, event, party) either moves as listed or is refused."""

from datetime import UTC, datetime, timedelta

import pytest

from toc.calls import state
from toc.calls.state import CallEvent, CallState, CallValue, EndReason, InvalidTransitionError, Party

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
RING = timedelta(seconds=20)
PARK = timedelta(seconds=60)
D, R, A, P, E = CallState.DIALING, CallState.RINGING, CallState.ANSWERED, CallState.PARKED, CallState.ENDED

ALLOWED = [
    (D, CallEvent.RING, Party.SYSTEM, R, None),
    (D, CallEvent.HANGUP, Party.CALLER, E, EndReason.CANCELLED),
    (D, CallEvent.HANGUP, Party.SYSTEM, E, EndReason.CANCELLED),
    (D, CallEvent.BUSY, Party.SYSTEM, E, EndReason.BUSY),
    (D, CallEvent.UNREACHABLE, Party.SYSTEM, E, EndReason.UNREACHABLE),
    (D, CallEvent.FAIL, Party.SYSTEM, E, EndReason.FAILED),
    (R, CallEvent.ANSWER, Party.CALLEE, A, None),
    (R, CallEvent.ANSWER, Party.SYSTEM, A, None),
    (R, CallEvent.DECLINE, Party.CALLEE, E, EndReason.DECLINED),
    (R, CallEvent.HANGUP, Party.CALLER, E, EndReason.CANCELLED),
    (R, CallEvent.HANGUP, Party.SYSTEM, E, EndReason.CANCELLED),
    (R, CallEvent.TIMEOUT, Party.SYSTEM, E, EndReason.NO_ANSWER),
    (R, CallEvent.UNREACHABLE, Party.SYSTEM, E, EndReason.UNREACHABLE),
    (R, CallEvent.FAIL, Party.SYSTEM, E, EndReason.FAILED),
    (R, CallEvent.FORWARD, Party.SYSTEM, R, None),
    (A, CallEvent.HANGUP, Party.CALLER, E, EndReason.COMPLETED),
    (A, CallEvent.HANGUP, Party.CALLEE, E, EndReason.COMPLETED),
    (A, CallEvent.HANGUP, Party.SYSTEM, E, EndReason.COMPLETED),
    (A, CallEvent.FAIL, Party.SYSTEM, E, EndReason.FAILED),
    (A, CallEvent.HOLD, Party.CALLER, A, None),
    (A, CallEvent.HOLD, Party.CALLEE, A, None),
    (A, CallEvent.TRANSFER, Party.CALLER, R, None),
    (A, CallEvent.TRANSFER, Party.CALLEE, R, None),
    (A, CallEvent.TRANSFER, Party.SYSTEM, R, None),
    (A, CallEvent.COMPLETE, Party.CALLER, A, None),
    (A, CallEvent.COMPLETE, Party.CALLEE, A, None),
    (A, CallEvent.PARK, Party.CALLER, P, None),
    (A, CallEvent.PARK, Party.CALLEE, P, None),
    (P, CallEvent.PICKUP, Party.CALLEE, A, None),
    (P, CallEvent.RING_BACK, Party.SYSTEM, R, None),
    (P, CallEvent.HANGUP, Party.CALLER, E, EndReason.COMPLETED),
    (P, CallEvent.HANGUP, Party.SYSTEM, E, EndReason.COMPLETED),
    (P, CallEvent.FAIL, Party.SYSTEM, E, EndReason.FAILED),
    (D, CallEvent.VOICEMAIL, Party.SYSTEM, A, None),
    (R, CallEvent.VOICEMAIL, Party.SYSTEM, A, None),
    (A, CallEvent.VOICEMAIL, Party.CALLER, A, None),
    (A, CallEvent.VOICEMAIL, Party.CALLEE, A, None),
    (A, CallEvent.VOICEMAIL, Party.SYSTEM, A, None),
]
ALLOWED_KEYS = {(before, event, party) for before, event, party, _, _ in ALLOWED}
EVERYTHING = [(before, event, party) for before in CallState for event in CallEvent for party in Party]


@pytest.mark.parametrize(("before", "event", "party", "after", "reason"), ALLOWED)
def test_allowed_transitions(before, event, party, after, reason) -> None:
    # given
    call = CallValue(
        state=before,
        created_at=NOW,
        ring_deadline=NOW if before is R else None,
        park_deadline=NOW if before is P else None,
    )

    # when
    result = state.apply(call, event, party=party, now=NOW + timedelta(seconds=1), ring_timeout=RING, park_timeout=PARK)

    # then
    assert (result.state, result.end_reason) == (after, reason)


@pytest.mark.parametrize(("before", "event", "party"), [key for key in EVERYTHING if key not in ALLOWED_KEYS])
def test_everything_else_is_refused(before, event, party) -> None:
    # given
    call = CallValue(state=before, created_at=NOW)

    # when / then
    with pytest.raises(InvalidTransitionError):
        state.apply(call, event, party=party, now=NOW, ring_timeout=RING, park_timeout=PARK)


def test_forwarding_rings_the_next_destination_with_a_new_deadline() -> None:
    # given a call ringing since NOW
    call = CallValue(state=R, created_at=NOW, ringing_at=NOW, ring_deadline=NOW + RING)
    later = NOW + timedelta(seconds=10)

    # when the system forwards it to a step that rings 15 s
    result = state.apply(call, CallEvent.FORWARD, party=Party.SYSTEM, now=later, ring_timeout=timedelta(seconds=15))

    # then it rings again from now, for 15 s
    assert (result.state, result.ringing_at, result.ring_deadline) == (R, later, later + timedelta(seconds=15))


def test_ringing_sets_the_deadline_from_the_ring_timeout() -> None:
    # when
    result = state.apply(CallValue(created_at=NOW), CallEvent.RING, party=Party.SYSTEM, now=NOW, ring_timeout=RING)

    # then
    assert result == CallValue(state=R, created_at=NOW, ringing_at=NOW, ring_deadline=NOW + RING)


def test_answer_clears_the_deadline_and_records_the_time() -> None:
    # given
    ringing = CallValue(state=R, created_at=NOW, ringing_at=NOW, ring_deadline=NOW + RING)

    # when
    result = state.apply(
        ringing, CallEvent.ANSWER, party=Party.CALLEE, now=NOW + timedelta(seconds=3), ring_timeout=RING
    )

    # then
    assert result.answered_at == NOW + timedelta(seconds=3)
    assert result.ring_deadline is None
    assert result.state is A


def test_timeout_before_the_deadline_is_refused() -> None:
    # given
    ringing = CallValue(state=R, created_at=NOW, ringing_at=NOW, ring_deadline=NOW + RING)

    # when / then
    with pytest.raises(InvalidTransitionError):
        state.apply(ringing, CallEvent.TIMEOUT, party=Party.SYSTEM, now=NOW + timedelta(seconds=19), ring_timeout=RING)
    ended = state.apply(ringing, CallEvent.TIMEOUT, party=Party.SYSTEM, now=NOW + RING, ring_timeout=RING)
    assert (ended.state, ended.end_reason, ended.ended_at) == (E, EndReason.NO_ANSWER, NOW + RING)


def test_an_ended_call_keeps_its_first_reason() -> None:
    # given
    ended = CallValue(state=E, end_reason=EndReason.DECLINED, ended_at=NOW)

    # when / then
    for event in CallEvent:
        with pytest.raises(InvalidTransitionError):
            state.apply(ended, event, party=Party.SYSTEM, now=NOW, ring_timeout=RING)


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        (state.LegState.NEW, state.LegState.CONNECTED, True),
        (state.LegState.NEW, state.LegState.ENDED, True),
        (state.LegState.CONNECTED, state.LegState.ENDED, True),
        (state.LegState.CONNECTED, state.LegState.NEW, False),
        (state.LegState.ENDED, state.LegState.CONNECTED, False),
        (state.LegState.ENDED, state.LegState.NEW, False),
    ],
)
def test_leg_transitions(current, target, allowed) -> None:
    if allowed:
        assert state.advance_leg(current, target) is target
    else:
        with pytest.raises(InvalidTransitionError):
            state.advance_leg(current, target)


@pytest.mark.parametrize(
    ("viewer_is_caller", "answered", "reason", "direction"),
    [
        (True, True, EndReason.COMPLETED, "outgoing"),
        (True, False, EndReason.NO_ANSWER, "outgoing"),
        (False, True, EndReason.COMPLETED, "incoming"),
        (False, False, EndReason.DECLINED, "incoming"),
        (False, False, EndReason.NO_ANSWER, "missed"),
        (False, False, EndReason.CANCELLED, "missed"),
        (False, False, EndReason.UNREACHABLE, "missed"),
        (False, False, EndReason.BUSY, "missed"),
    ],
)
def test_history_direction(viewer_is_caller, answered, reason, direction) -> None:
    assert state.history_direction(viewer_is_caller=viewer_is_caller, answered=answered, end_reason=reason) == direction


def answered(**changes: object) -> CallValue:
    return CallValue(state=A, created_at=NOW, ringing_at=NOW, answered_at=NOW, **changes)  # type: ignore[arg-type]


def test_hold_records_who_held_and_keeps_the_call_answered() -> None:
    # when
    result = state.apply(answered(), CallEvent.HOLD, party=Party.CALLEE, now=NOW, ring_timeout=RING)

    # then
    assert (result.state, result.held_by, result.answered_at) == (A, Party.CALLEE, NOW)


def test_only_the_party_who_held_can_resume() -> None:
    # given
    held = answered(held_by=Party.CALLEE)

    # when / then
    with pytest.raises(InvalidTransitionError, match=r"^Only the person who put the call on hold can resume it\.$"):
        state.apply(held, CallEvent.RESUME, party=Party.CALLER, now=NOW, ring_timeout=RING)
    resumed = state.apply(held, CallEvent.RESUME, party=Party.CALLEE, now=NOW, ring_timeout=RING)
    assert (resumed.state, resumed.held_by) == (A, None)


def test_a_held_call_cannot_be_held_again_and_a_call_not_on_hold_cannot_be_resumed() -> None:
    with pytest.raises(InvalidTransitionError, match="on hold already"):
        state.apply(answered(held_by=Party.CALLER), CallEvent.HOLD, party=Party.CALLEE, now=NOW, ring_timeout=RING)
    with pytest.raises(InvalidTransitionError, match="not on hold"):
        state.apply(answered(), CallEvent.RESUME, party=Party.CALLER, now=NOW, ring_timeout=RING)


def test_a_blind_transfer_rings_the_target_afresh() -> None:
    # when
    later = NOW + timedelta(seconds=30)
    result = state.apply(
        answered(held_by=Party.CALLER), CallEvent.TRANSFER, party=Party.CALLER, now=later, ring_timeout=RING
    )

    # then
    assert result == CallValue(state=R, created_at=NOW, ringing_at=later, ring_deadline=later + RING)


def test_park_sets_the_ring_back_deadline_and_needs_the_timeout() -> None:
    # when
    parked = state.apply(answered(), CallEvent.PARK, party=Party.CALLER, now=NOW, ring_timeout=RING, park_timeout=PARK)

    # then
    assert (parked.state, parked.park_deadline, parked.held_by) == (P, NOW + PARK, None)
    with pytest.raises(InvalidTransitionError, match="park timeout"):
        state.apply(answered(), CallEvent.PARK, party=Party.CALLER, now=NOW, ring_timeout=RING)


def test_ring_back_waits_for_the_park_deadline() -> None:
    # given
    parked = CallValue(state=P, created_at=NOW, answered_at=NOW, park_deadline=NOW + PARK)

    # when / then
    with pytest.raises(InvalidTransitionError, match="park timeout has not passed"):
        state.apply(
            parked, CallEvent.RING_BACK, party=Party.SYSTEM, now=NOW + PARK - timedelta(seconds=1), ring_timeout=RING
        )
    rung = state.apply(parked, CallEvent.RING_BACK, party=Party.SYSTEM, now=NOW + PARK, ring_timeout=RING)
    assert (rung.state, rung.ring_deadline, rung.park_deadline, rung.answered_at) == (R, NOW + PARK + RING, None, None)


def test_a_pickup_starts_the_conversation_again() -> None:
    # given
    parked = CallValue(state=P, created_at=NOW, answered_at=NOW, park_deadline=NOW + PARK)

    # when
    later = NOW + timedelta(seconds=9)
    result = state.apply(parked, CallEvent.PICKUP, party=Party.CALLEE, now=later, ring_timeout=RING)

    # then
    assert (result.state, result.answered_at, result.park_deadline) == (A, later, None)
