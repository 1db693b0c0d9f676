"""Park and pickup: the other side waits on a slot (601 up) with music on hold, anyone in the
organisation dials the slot to take it, and after the park timeout it rings the parker back
(who, not answering, sends it to their voicemail).

Park slots are claimed by a partial unique index (one parked call per organisation and slot),
so two parks at once never share a slot and two pickups at once have exactly one winner.
"""

import copy
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from toc.accounts.access import organisation_id_of
from toc.accounts.models import User
from toc.calls import history, state
from toc.calls.models import Call, CallStatus, Leg, LegStatus
from toc.calls.services import media
from toc.calls.services.base import (
    CallError,
    apply_event,
    at_call_limit,
    bridge_id_of,
    check_event,
    live_legs,
    locked_call,
    other_party,
    party_of,
    refused,
    schedule_ring_timeout,
    worker_of,
)
from toc.calls.services.handling import HOLD_SOUNDS, answered_for, hold_other_calls, keep_as_caller, set_callee
from toc.lib.events import send_event
from toc.media.prompts import parked_at


def park_call(*, user: User, call_id: object, now: datetime | None = None) -> Call:
    """Park: the other side waits on the lowest free slot with music on hold; this user hears
    "parked at six zero one" and leaves. Anyone in the organisation picks up by dialling it."""
    moment = now or timezone.now()
    with transaction.atomic():
        call = answered_for(user, call_id, "parked")
        parker = party_of(call, user)
        check_event(call, state.CallEvent.PARK, party=parker, now=moment)
        parker_legs = live_legs(call, user.pk)
        as_it_was = copy.copy(call)  # the parker's history line reads the sides before they move
        keep_as_caller(call, other_party(parker))
        slot = _claim_slot(call, user, moment)
        Leg.objects.filter(pk__in=[leg.pk for leg in parker_legs]).update(state=LegStatus.ENDED, ended_at=moment)
        history.record_departure(call=as_it_was, user=user, outcome="parked", note=f"Parked at {slot}.", at=moment)
        apply_event(call, state.CallEvent.PARK, party=parker, now=moment, also_tell=[user.pk])
        worker = worker_of(call)
        waiting = [leg.pk for leg in live_legs(call)]
        media.unbridge(worker, call_id=call.pk, leg_ids=[*waiting, *(leg.pk for leg in parker_legs)])
        media.play(worker, call_id=call.pk, leg_ids=waiting, sounds=HOLD_SOUNDS, loop=True)
        prompt = ["prompt:" + path.stem for path in parked_at(slot)]
        media.play(worker, call_id=call.pk, leg_ids=[leg.pk for leg in parker_legs], sounds=prompt, hangup_after=True)
        _schedule_ring_back(call)
        _announce_parked(call.organisation_id)
    return call


def _claim_slot(call: Call, user: User, moment: datetime) -> str:
    """The lowest free slot of the organisation's range, held by this call (a savepoint per try:
    a slot another park took a moment ago fails the unique index and the next one is tried)."""
    organisation = call.organisation
    first, count = organisation.park_first_slot, organisation.park_slot_count
    for number in range(first, first + count):
        slot = str(number)
        if Call.objects.filter(organisation_id=organisation.pk, state=CallStatus.PARKED, park_slot=slot).exists():
            continue
        try:
            with transaction.atomic():
                Call.objects.filter(pk=call.pk).update(
                    state=CallStatus.PARKED,
                    park_slot=slot,
                    parked_by=user,
                    callee=None,
                    callee_name=f"Park {slot}",
                    callee_number=slot,
                )
        except IntegrityError:
            continue
        call.park_slot, call.parked_by = slot, user
        set_callee(call, None, name=f"Park {slot}", number=slot)
        return slot
    raise refused("Every park slot is in use. Try again in a moment, or transfer the call.")


def _schedule_ring_back(call: Call) -> None:
    from toc.calls import tasks

    call_id = str(call.pk)
    seconds = call.organisation.park_timeout_seconds
    transaction.on_commit(lambda: tasks.ring_back_parked_call.apply_async((call_id,), countdown=seconds + 0.05))


def _announce_parked(organisation_id: int) -> None:
    send_event(event_type="call.parked_changed", payload={}, organisation_id=organisation_id)


def pick_up_parked_call(*, user: User, slot: str, channel_name: str, sdp: str, now: datetime | None = None) -> Call:
    """Dialling a park slot: this user takes the call parked there (exactly one of two people
    picking up at once gets it; the other is told nothing is parked there any more)."""
    moment = now or timezone.now()
    with transaction.atomic():
        parked = (
            Call.objects.select_for_update()
            .filter(organisation_id=organisation_id_of(user), state=CallStatus.PARKED, park_slot=slot)
            .first()
        )
        if parked is not None:
            parked.refresh_from_db()  # a pickup that won the lock first has changed it
        if parked is None or parked.state != CallStatus.PARKED or parked.park_slot != slot:
            raise refused(f"No call is parked at {slot}.")
        if parked.caller_id == user.pk:
            raise refused("That is your own call waiting in park.")
        if at_call_limit(user):
            raise CallError("conflict", "You already have calls in progress; hang one up first.")
        waiting = [leg.pk for leg in live_legs(parked)]
        set_callee(parked, user)
        parked.transferred_by_name = ""
        apply_event(parked, state.CallEvent.PICKUP, party=state.Party.CALLEE, now=moment)
        leg = Leg.objects.create(
            call=parked, user=user, party=state.Party.CALLEE, channel_name=channel_name, created_at=moment
        )
        media.create_leg(worker_of(parked), leg, sdp=sdp, bridge_id=bridge_id_of(parked), bridge_leg_ids=waiting)
        _announce_parked(parked.organisation_id)
    hold_other_calls(user=user, except_call_id=parked.pk, now=moment)
    return parked


def ring_back_parked_call(*, call_id: object, now: datetime | None = None) -> bool:
    """The park timeout passed: ring the parker (the waiting side keeps its music)."""
    moment = now or timezone.now()
    with transaction.atomic():
        call = locked_call(call_id)
        if call is None or call.state != CallStatus.PARKED or call.park_deadline is None or moment < call.park_deadline:
            return False
        parker = call.parked_by
        check_event(call, state.CallEvent.RING_BACK, party=state.Party.SYSTEM, now=moment)
        if parker is None or not parker.is_active:
            apply_event(
                call, state.CallEvent.HANGUP, party=state.Party.CALLER, now=moment, detail="nobody to ring back"
            )
            _announce_parked(call.organisation_id)
            return True
        slot = call.park_slot
        set_callee(call, parker)
        call.transferred_by_name = f"Park {slot}"
        apply_event(call, state.CallEvent.RING_BACK, party=state.Party.SYSTEM, now=moment)
        schedule_ring_timeout(call)
        _announce_parked(call.organisation_id)
    return True


def sweep_overdue_parked(*, now: datetime | None = None) -> int:
    """A safety net for ring-back tasks that were lost (a broker restart)."""
    moment = now or timezone.now()
    overdue = Call.objects.filter(state=CallStatus.PARKED, park_deadline__lt=moment - timedelta(seconds=2))
    return sum(
        1
        for call_id in list(overdue.values_list("pk", flat=True))
        if ring_back_parked_call(call_id=call_id, now=moment)
    )
