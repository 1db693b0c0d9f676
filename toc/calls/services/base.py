"""What every call service shares: errors, locks, the one place a call changes, announcements.

Locking: a change loads the call with `select_for_update()`. When two calls change together
(an attended transfer, a conference), they are locked in the order of their ids
(`lock_calls`), and a worker pick locks the live MediaWorker rows first, in name order.
`apply_event` applies one event of the pure state machine (`toc.calls.state`), stores it,
logs it, and after commit tells the users (`call.updated`) and the media worker.
"""

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count

from toc.accounts.access import organisation_id_of
from toc.accounts.models import User
from toc.calls import dialplan, history, selectors, state
from toc.calls.models import Call, CallStatus, CallTransition, Leg, LegStatus
from toc.calls.services import media
from toc.lib.events import send_event
from toc.media import control
from toc.media.models import MediaWorker
from toc.presence.models import Connection

logger = logging.getLogger(__name__)


class CallError(Exception):
    """A request the call engine refuses; nothing was changed. `code` is for clients."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def refused(message: str) -> CallError:
    return CallError("refused", message)


def not_found() -> CallError:
    return CallError("not_found", "That call does not exist or is not yours.")


# --- where a number goes ------------------------------------------------------------------


def resolve_destination(destination: str, *, main_number: str = "") -> dialplan.Route:
    """The route for a number a user may call; refuses what cannot be called (yet). The
    organisation's own `main_number` is an outside number that needs no carrier."""
    route = dialplan.resolve(destination, region=settings.PHONE_DEFAULT_REGION)
    if route.kind is dialplan.RouteKind.OUTSIDE and main_number and route.target == main_number:
        return route
    if route.kind is dialplan.RouteKind.INVALID:
        raise refused(route.message)
    if route.kind is dialplan.RouteKind.EMERGENCY:
        raise refused(
            "Emergency calls need a phone carrier, and none is configured for your organisation. "
            "Call 911 from another phone now."
        )
    if route.kind is dialplan.RouteKind.OUTSIDE:
        raise refused("Outside calls need a phone carrier, and none is configured for your organisation.")
    return route


def user_at_extension(user: User, extension: str) -> User:
    callee = User.objects.filter(organisation_id=organisation_id_of(user), extension=extension, is_active=True).first()
    if callee is None:
        raise refused(f"There is no extension {extension} in your organisation.")
    return callee


# --- media workers ------------------------------------------------------------------------


def pick_worker(now: datetime, *, required: MediaWorker | None = None) -> MediaWorker:
    """The least loaded live worker with room for one more call (admission control).

    A call whose legs must meet legs of another call (a consultation, a conference) has to
    be on that call's worker: `required` is then the only choice, full or not.
    """
    workers = list(control.list_alive_workers(now=now).select_for_update())
    if required is not None:
        if any(worker.pk == required.pk for worker in workers):
            return required
        raise CallError("busy_system", "The phone system is busy. Try again in a moment.")
    loads = dict(
        Call.objects.filter(media_worker__in=workers, state__in=selectors.LIVE_STATES)
        .values_list("media_worker")
        .annotate(count=Count("id"))
        .values_list("media_worker", "count")
    )
    free = [worker for worker in workers if loads.get(worker.pk, 0) < worker.capacity]
    if not free:
        raise CallError("busy_system", "The phone system is busy. Try again in a moment.")
    return min(free, key=lambda worker: (loads.get(worker.pk, 0) / worker.capacity, worker.name))


def worker_of_live_call(user: User, now: datetime) -> MediaWorker | None:
    """Calls of one user share a worker while it is alive, so that a transfer or a conference
    can join their legs later (legs meet only inside one engine)."""
    call = selectors.calls_of(user).filter(state__in=selectors.LIVE_STATES, media_worker__isnull=False).first()
    if call is None or call.media_worker is None:
        return None
    worker = call.media_worker
    alive = control.list_alive_workers(now=now).filter(pk=worker.pk).exists()
    return worker if alive else None


def worker_of(call: Call) -> MediaWorker | None:
    return MediaWorker.objects.filter(pk=call.media_worker_id).first() if call.media_worker_id else None


def live_call_count(user: User) -> int:
    return selectors.calls_of(user).filter(state__in=selectors.LIVE_STATES).count()


def at_call_limit(user: User) -> bool:
    """Whether `user` already has as many live calls as one person may (CALL_MAX_LIVE_PER_USER)."""
    return live_call_count(user) >= settings.CALL_MAX_LIVE_PER_USER


# --- starting a call ----------------------------------------------------------------------


def start_call(
    *,
    caller: User,
    callee: User,
    dialled: str,
    channel_name: str,
    sdp: str,
    now: datetime,
    worker: MediaWorker,
    consult_for: Call | None = None,
) -> Call:
    """A new call from this socket's softphone that rings `callee` (inside a transaction)."""
    call = Call.objects.create(
        organisation_id=organisation_id_of(caller),
        caller=caller,
        callee=callee,
        dialled=dialled,
        caller_name=caller.display_name,
        caller_number=caller.extension,
        callee_name=callee.display_name,
        callee_number=callee.extension,
        media_worker=worker,
        consult_for=consult_for,
        created_at=now,
    )
    log(call, event="create", party=state.Party.CALLER, from_state="", to_state=call.state, at=now)
    if consult_for is None:
        _start_routed(call, callee, channel_name=channel_name, sdp=sdp, now=now, worker=worker)
    elif callee.phone_dnd:
        _not_reached(call, state.CallEvent.UNREACHABLE, channel_name=channel_name, sdp=sdp, now=now, why="dnd")
    elif not Connection.objects.filter(user=callee).exists():
        _not_reached(call, state.CallEvent.UNREACHABLE, channel_name=channel_name, sdp=sdp, now=now)
    elif live_call_count(callee) > settings.CALL_MAX_LIVE_PER_USER:
        _not_reached(call, state.CallEvent.BUSY, channel_name=channel_name, sdp=sdp, now=now)
    else:
        _ring(call, channel_name=channel_name, sdp=sdp, now=now, worker=worker)
    return call


def _start_routed(call: Call, callee: User, *, channel_name: str, sdp: str, now: datetime, worker: MediaWorker) -> None:
    """A colleague's call follows the callee's routing: its first step rings, or voicemail."""
    from toc.calls.services import delivery  # delivery builds on this module

    seconds = delivery.start_routing(call, callee, caller_is_local=True, now=now)
    if seconds is None:
        why = delivery.empty_plan_reason(callee)
        event = state.CallEvent.BUSY if why == "busy" else state.CallEvent.UNREACHABLE
        _not_reached(call, event, channel_name=channel_name, sdp=sdp, now=now, why=why)
    else:
        _ring(call, channel_name=channel_name, sdp=sdp, now=now, worker=worker, seconds=seconds)


def _ring(
    call: Call, *, channel_name: str, sdp: str, now: datetime, worker: MediaWorker, seconds: int | None = None
) -> None:
    assert call.caller_id is not None
    leg = Leg.objects.create(
        call=call, user_id=call.caller_id, party=state.Party.CALLER, channel_name=channel_name, created_at=now
    )
    apply_event(call, state.CallEvent.RING, party=state.Party.SYSTEM, now=now, ring_seconds=seconds)
    media.create_leg(worker, leg, sdp=sdp, bridge_id=bridge_id_of(call), sounds=["ringback"], loop=True)
    schedule_ring_timeout(call)


def _not_reached(
    call: Call, event: state.CallEvent, *, channel_name: str, sdp: str, now: datetime, why: str = ""
) -> None:
    """The callee cannot be rung (Phone DND, not signed in, or busy): their voicemail takes the
    call; a call voicemail cannot take (a consultation) ends as unreachable or busy."""
    from toc.calls.services import voicemail  # voicemail builds on this module

    if not voicemail.can_take(call):
        apply_event(call, event, party=state.Party.SYSTEM, now=now)
        return
    assert call.caller_id is not None
    leg = Leg.objects.create(
        call=call, user_id=call.caller_id, party=state.Party.CALLER, channel_name=channel_name, created_at=now
    )
    media.create_leg(worker_of(call), leg, sdp=sdp, bridge_id=bridge_id_of(call), sounds=["ringback"], loop=True)
    voicemail.divert(call, why=why or event.value, now=now)


def schedule_ring_timeout(call: Call) -> None:
    """Run the ring timeout at the call's ring deadline."""
    from toc.calls import tasks  # the task module imports these services

    call_id = str(call.pk)
    assert call.ring_deadline is not None and call.ringing_at is not None
    seconds = (call.ring_deadline - call.ringing_at).total_seconds()
    transaction.on_commit(lambda: tasks.end_unanswered_call.apply_async((call_id,), countdown=seconds + 0.05))


# --- loading and locking ------------------------------------------------------------------


def lock_call_for(user: User, call_id: object) -> Call:
    """The call, locked, if `user` is one of its sides (otherwise it does not exist for them)."""
    call = selectors.get_call_for_user(user=user, call_id=call_id)
    if call is None:
        raise not_found()
    locked = Call.objects.select_for_update(of=("self",)).select_related("media_worker").get(pk=call.pk)
    if user.pk not in (locked.caller_id, locked.callee_id):
        # The sides changed while we waited for the lock (the call was forwarded to the next
        # person, or transferred): it is no longer this user's to answer or decline.
        raise not_found()
    return locked


def locked_call(call_id: object) -> Call | None:
    key = selectors.parse_id(call_id)
    return Call.objects.select_for_update().filter(pk=key).first() if key is not None else None


def lock_calls(*call_ids: object) -> dict[object, Call]:
    """Several calls locked in the order of their ids (no deadlock between two such locks)."""
    keys = sorted({key for key in (selectors.parse_id(value) for value in call_ids) if key is not None})
    return {call.pk: call for call in (Call.objects.select_for_update().get(pk=key) for key in keys)}


def party_of(call: Call, user: User) -> state.Party:
    return state.Party.CALLER if call.caller_id == user.pk else state.Party.CALLEE


def user_of(call: Call, party: state.Party) -> int | None:
    return call.caller_id if party is state.Party.CALLER else call.callee_id


def other_party(party: state.Party) -> state.Party:
    return state.Party.CALLEE if party is state.Party.CALLER else state.Party.CALLER


def live_legs(call: Call, user_id: int | None = None) -> list[Leg]:
    legs = call.legs.exclude(state=LegStatus.ENDED)
    if user_id is not None:
        legs = legs.filter(user_id=user_id)
    return list(legs.order_by("created_at"))


def bridge_id_of(call: Call) -> str:
    """The media bridge a call's legs meet in: the call's own, or its conference's."""
    if call.conference_id is not None:
        return f"conference-{call.conference_id}"
    return str(call.pk)


def end_legs(call: Call, legs: Iterable[Leg], now: datetime) -> None:
    """End these legs here and in the media worker (their sockets get the call's update)."""
    ids = [leg.pk for leg in legs]
    if not ids:
        return
    Leg.objects.filter(pk__in=ids).exclude(state=LegStatus.ENDED).update(state=LegStatus.ENDED, ended_at=now)
    media.hangup(worker_of(call), call_id=call.pk, leg_ids=ids)


def close_leg(leg_id: object, moment: datetime) -> None:
    key = selectors.parse_id(leg_id)
    if key is not None:
        Leg.objects.filter(pk=key).exclude(state=LegStatus.ENDED).update(state=LegStatus.ENDED, ended_at=moment)


# --- the one place a call changes ---------------------------------------------------------


def _value_of(call: Call) -> state.CallValue:
    return state.CallValue(
        state=state.CallState(call.state),
        end_reason=state.EndReason(call.end_reason) if call.end_reason else None,
        created_at=call.created_at,
        ringing_at=call.ringing_at,
        ring_deadline=call.ring_deadline,
        answered_at=call.answered_at,
        ended_at=call.ended_at,
        held_by=state.Party(call.held_by) if call.held_by else None,
        park_deadline=call.park_deadline,
    )


def check_event(
    call: Call, event: state.CallEvent, *, party: state.Party, now: datetime, ring_seconds: int | None = None
) -> state.CallValue:
    """The call after `event`, or a "conflict" CallError; changes nothing. A call that starts
    ringing rings for `ring_seconds` (a routing step's), else the organisation's ring timeout."""
    organisation = call.organisation
    try:
        return state.apply(
            _value_of(call),
            event,
            party=party,
            now=now,
            ring_timeout=timedelta(seconds=ring_seconds or organisation.ring_timeout_seconds),
            park_timeout=timedelta(seconds=organisation.park_timeout_seconds),
        )
    except state.InvalidTransitionError as error:
        raise CallError("conflict", _conflict_message(call, event, error)) from error


def apply_event(
    call: Call,
    event: state.CallEvent,
    *,
    party: state.Party,
    now: datetime,
    detail: str = "",
    also_tell: Iterable[int] = (),
    ring_seconds: int | None = None,
) -> None:
    """Apply `event` to a locked call, store it, log it, and announce it after commit (to its
    sides, and to `also_tell`: users who just left it)."""
    before = state.CallState(call.state)
    after = check_event(call, event, party=party, now=now, ring_seconds=ring_seconds)
    call.state = after.state.value
    call.end_reason = after.end_reason.value if after.end_reason else ""
    call.ringing_at = after.ringing_at
    call.ring_deadline = after.ring_deadline
    call.answered_at = after.answered_at
    call.ended_at = after.ended_at
    call.held_by = after.held_by.value if after.held_by else ""
    call.park_deadline = after.park_deadline
    if after.state is not state.CallState.PARKED:
        call.park_slot = ""
    call.version += 1
    call.save()
    log(call, event=event.value, party=party, from_state=before.value, to_state=call.state, at=now, detail=detail)
    if after.state is state.CallState.ENDED:
        end_media(call, now)
        history.write_history(call)
        if call.conference_id is not None:
            _settle_after_commit(call.conference_id, now)
        _voicemail_ended(call)
    announce(call, also_tell=also_tell)


def _settle_after_commit(conference_id: uuid.UUID, now: datetime) -> None:
    from toc.calls.services import conferences  # conferences builds on this module

    transaction.on_commit(lambda: conferences.settle_conference(conference_id=conference_id, now=now))


def _voicemail_ended(call: Call) -> None:
    from toc.calls.services import voicemail  # voicemail builds on this module

    voicemail.call_ended(call)


def touch(call: Call, *, also_tell: Iterable[int] = ()) -> None:
    """The call changed outside the state machine (who is in it, mute): a new version, announced."""
    call.version += 1
    call.save(update_fields=["version"])
    announce(call, also_tell=also_tell)


def _conflict_message(call: Call, event: state.CallEvent, error: state.InvalidTransitionError) -> str:
    if call.state == CallStatus.ENDED:
        return "That call has already ended."
    if event is state.CallEvent.ANSWER and call.state == CallStatus.ANSWERED:
        return "That call was already answered."
    if event in (state.CallEvent.HOLD, state.CallEvent.RESUME) and call.state == CallStatus.ANSWERED:
        return str(error)
    return f"That is not possible while the call is {call.get_state_display().lower()}."


def log(
    call: Call, *, event: str, party: state.Party, from_state: str, to_state: str, at: datetime, detail: str = ""
) -> None:
    CallTransition.objects.create(
        call=call, event=event, party=party.value, from_state=from_state, to_state=to_state, detail=detail[:200], at=at
    )
    logger.info("call %s: %s -%s(%s)-> %s %s", call.pk, from_state or "-", event, party.value, to_state, detail)


def end_media(call: Call, now: datetime) -> None:
    end_legs(call, live_legs(call), now)


def announce(call: Call, *, also_tell: Iterable[int] = ()) -> None:
    user_ids = {pk for pk in (call.caller_id, call.callee_id, *also_tell) if pk is not None}
    for user in User.objects.filter(pk__in=user_ids):
        send_event(
            event_type="call.updated",
            payload={"call": selectors.describe_call(call, viewer=user)},
            user_ids=[user.pk],
        )


def describe_for(call: Call, user: User) -> dict[str, Any]:
    """The call as `user` sees it, read again after the change committed."""
    fresh = Call.objects.get(pk=call.pk)
    return selectors.describe_call(fresh, viewer=user)


def describe_call_of(*, user: User, call_id: object) -> dict[str, Any]:
    call = selectors.get_call_for_user(user=user, call_id=call_id)
    if call is None:
        raise not_found()
    return selectors.describe_call(call, viewer=user)
