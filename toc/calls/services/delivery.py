"""Delivering a call to the user it was dialled for, by their routing plan (`toc.calls.routing`).

A fresh call to a user (dialled by a colleague, or chosen at the company greeting) gets the
plan of its dialled user, `routed_for`, and keeps the people still to ring in `route_steps`.
Each step makes that person the callee side and rings their sessions for the step's seconds
(the FORWARD event); the ring timeout moves to the next step; after the last, or when the plan
is empty (Phone DND, a 999 rule, nobody free), the dialled user's voicemail takes the call.
Someone who was rung and did not answer gets a missed call in their history, and the dialled
user sees where their call went. Everything here runs inside the call's transaction.
"""

import logging
from dataclasses import asdict
from datetime import datetime

from django.conf import settings

from toc.accounts.models import User
from toc.calls import history, routing, selectors, state
from toc.calls.models import Call, HistoryDirection, RecordOutcome
from toc.calls.services.base import apply_event, at_call_limit, log
from toc.calls.services.forwarding import plan_for
from toc.presence.models import Connection

logger = logging.getLogger(__name__)


def start_routing(call: Call, callee: User, *, caller_is_local: bool, now: datetime) -> int | None:
    """Plan the call to `callee` and make its first step the callee side: returns how long it
    rings, or None when nobody rings (the callee side is then `callee`, for their voicemail)."""
    plan = plan_for(callee=callee, caller_is_local=caller_is_local, now=now, call=call)
    call.routed_for = callee
    call.route_steps = [asdict(step) for step in plan.steps if isinstance(step, routing.Ring)]
    reasons = " ".join(plan.reasons)
    log(
        call,
        event="route",
        party=state.Party.SYSTEM,
        from_state=call.state,
        to_state=call.state,
        at=now,
        detail=reasons,
    )
    _set_callee(call, callee)
    step = _next_step(call)
    if step is None:
        call.save()
        return None
    person, seconds = step
    if person.pk != callee.pk:
        history.record_departure(
            call=call,
            user=callee,
            outcome=RecordOutcome.FORWARDED,
            note=f"Forwarded to {person.display_name} ({person.extension}) by your rules.",
            at=now,
            direction=HistoryDirection.INCOMING,  # not missed: it went where you said (voicemail marks it)
        )
        _set_callee(call, person)
    call.save()
    return seconds


def empty_plan_reason(callee: User) -> str:
    """Why nobody rang, for the voicemail's history line and greeting (busy gets the busy one)."""
    if callee.phone_dnd:
        return "dnd"
    if not Connection.objects.filter(user=callee).exists():
        return "unreachable"
    if at_call_limit(callee):
        return "busy"
    return "forwarded"


def has_more_steps(call: Call) -> bool:
    return call.routed_for_id is not None and bool(call.route_steps)


def is_ringing_a_colleague(call: Call) -> bool:
    """Whether the one ringing now is someone the dialled user's rules chose, not that user."""
    return call.routed_for_id is not None and call.callee_id != call.routed_for_id


def forward_to_next(call: Call, *, now: datetime, declined: bool = False) -> bool:
    """The ring time of this step passed (or its colleague declined): ring the next person
    still free. False when nobody is left (the caller then goes to the dialled user's
    voicemail: `back_to_routed_user`)."""
    step = _next_step(call)
    if step is None:
        return False
    person, seconds = step
    left = _leave_unanswered(call, now, declined=declined)
    _set_callee(call, person)
    apply_event(
        call,
        state.CallEvent.FORWARD,
        party=state.Party.SYSTEM,
        now=now,
        detail=f"to {person.extension}",
        also_tell=left,
        ring_seconds=seconds,
    )
    return True


def back_to_routed_user(call: Call, *, now: datetime, declined: bool = False) -> list[int]:
    """Before voicemail takes a routed call: whoever rang last leaves, and the dialled user is
    the callee side again (their mailbox takes it). Returns who left, to be told."""
    if call.routed_for_id is None or call.callee_id == call.routed_for_id:
        return []
    left = _leave_unanswered(call, now, declined=declined)
    call.route_steps = []
    _set_callee(call, User.objects.get(pk=call.routed_for_id))
    return left


def _next_step(call: Call) -> tuple[User, int] | None:
    """Pop steps until one whose person can ring now: not the caller, signed in, free, no Phone
    DND unless it is the dialled user."""
    while call.route_steps:
        step = call.route_steps.pop(0)
        person = User.objects.filter(pk=step.get("user_id"), is_active=True).first()
        if person is None or person.pk == call.caller_id:
            continue  # gone, or the caller themselves (a rule that rings the one calling)
        if person.pk != call.routed_for_id and person.phone_dnd:
            continue
        if not Connection.objects.filter(user=person).exists() or _is_busy(person, call):
            continue
        return person, int(step.get("seconds") or call.organisation.ring_timeout_seconds)
    return None


def _is_busy(person: User, call: Call) -> bool:
    """At the call limit without counting `call`, which they would take."""
    others = selectors.calls_of(person).filter(state__in=selectors.LIVE_STATES).exclude(pk=call.pk)
    return others.count() >= settings.CALL_MAX_LIVE_PER_USER


def _leave_unanswered(call: Call, now: datetime, *, declined: bool = False) -> list[int]:
    """The person ringing now stops: a forwarded call they did not take goes in their history
    as missed (or declined). The dialled user's own line says where the call went."""
    current = User.objects.filter(pk=call.callee_id).first() if call.callee_id else None
    if current is None:
        return []
    routed_for = User.objects.filter(pk=call.routed_for_id).first() if call.routed_for_id else None
    if routed_for is None or current.pk == routed_for.pk:
        note = "Not answered: forwarded by your rules."
    else:
        note = f"Forwarded call for {routed_for.display_name}: {'declined' if declined else 'not answered'}."
    history.record_departure(
        call=call,
        user=current,
        outcome=RecordOutcome.DECLINED if declined else RecordOutcome.NO_ANSWER,
        note=note,
        at=now,
        direction=HistoryDirection.INCOMING if declined else HistoryDirection.MISSED,
    )
    return [current.pk]


def _set_callee(call: Call, user: User) -> None:
    call.callee = user
    call.callee_name = user.display_name
    call.callee_number = user.extension
