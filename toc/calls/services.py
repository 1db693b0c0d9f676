"""Writes of calls: place, answer, decline, hang up, time out, fail; legs; history.

Every change loads the call with `select_for_update()` (the one lock a call change takes; a
worker pick locks the live MediaWorker rows first, in name order), applies one event of the
pure state machine (`toc.calls.state`), stores it, logs the transition, and only after commit
tells the users (`call.updated`) and the media worker (commands in `toc.media.worker`). So
two sessions answering at once, or an answer racing the ring timeout, end with exactly one
winner and the loser gets a clear "conflict" error.
"""

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from toc.accounts.access import organisation_id_of
from toc.accounts.models import User
from toc.calls import dialplan, history, selectors, state
from toc.calls.models import Call, CallStatus, CallTransition, Leg, LegStatus
from toc.lib.events import send_event
from toc.media import control
from toc.media.models import MediaWorker
from toc.media.sdp import check_offer
from toc.presence.models import Connection

logger = logging.getLogger(__name__)

DTMF_CHARACTERS = set("0123456789*#")
MAX_DTMF_DIGITS = 32


class CallError(Exception):
    """A request the call engine refuses; nothing was changed. `code` is for clients."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _refused(message: str) -> CallError:
    return CallError("refused", message)


def _not_found() -> CallError:
    return CallError("not_found", "That call does not exist or is not yours.")


# --- placing a call ----------------------------------------------------------------------


def _route_for(user: User, destination: str) -> tuple[dialplan.Route, User]:
    route = dialplan.resolve(destination, region=settings.PHONE_DEFAULT_REGION)
    if route.kind in (dialplan.RouteKind.INVALID, dialplan.RouteKind.RESERVED):
        raise _refused(route.message)
    if route.kind is dialplan.RouteKind.EMERGENCY:
        raise _refused(
            "Emergency calls need a phone carrier, and none is configured for your organisation. "
            "Call 911 from another phone now."
        )
    if route.kind is dialplan.RouteKind.OUTSIDE:
        raise _refused("Outside calls need a phone carrier, and none is configured for your organisation.")
    callee = User.objects.filter(
        organisation_id=organisation_id_of(user), extension=route.target, is_active=True
    ).first()
    if callee is None:
        raise _refused(f"There is no extension {route.target} in your organisation.")
    if callee.pk == user.pk:
        raise _refused("That is your own extension.")
    return route, callee


def _pick_worker(now: datetime) -> MediaWorker:
    """The least loaded live worker with room for one more call (admission control)."""
    workers = list(control.list_alive_workers(now=now).select_for_update())
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


def place_call(*, user: User, channel_name: str, destination: str, sdp: str, now: datetime | None = None) -> Call:
    """Dial `destination` from this socket's softphone with its WebRTC offer `sdp`."""
    moment = now or timezone.now()
    if user.organisation_id is None:
        raise _refused("Only members of an organisation can make calls.")
    problem = check_offer(sdp)
    if problem:
        raise CallError("invalid", problem)
    route, callee = _route_for(user, destination)
    with transaction.atomic():
        if _live_call_count(user) >= settings.CALL_MAX_LIVE_PER_USER:
            raise CallError("conflict", "You already have calls in progress; hang one up first.")
        worker = _pick_worker(moment)
        call = Call.objects.create(
            organisation_id=user.organisation_id,
            caller=user,
            callee=callee,
            dialled=route.dialled,
            caller_name=user.display_name,
            caller_number=user.extension,
            callee_name=callee.display_name,
            callee_number=callee.extension,
            media_worker=worker,
            created_at=moment,
        )
        _log(call, event="create", party=state.Party.CALLER, from_state="", to_state=call.state, at=moment)
        if not Connection.objects.filter(user=callee).exists():
            _apply(call, state.CallEvent.UNREACHABLE, party=state.Party.SYSTEM, now=moment)
        elif _live_call_count(callee) > settings.CALL_MAX_LIVE_PER_USER:
            _apply(call, state.CallEvent.BUSY, party=state.Party.SYSTEM, now=moment)
        else:
            leg = Leg.objects.create(
                call=call, user=user, party=state.Party.CALLER, channel_name=channel_name, created_at=moment
            )
            _apply(call, state.CallEvent.RING, party=state.Party.SYSTEM, now=moment)
            _create_media_leg(worker, leg, sdp=sdp, ringback=True, bridge_leg_ids=[])
            _schedule_ring_timeout(call)
    return call


def _create_media_leg(worker: MediaWorker, leg: Leg, *, sdp: str, ringback: bool, bridge_leg_ids: list[str]) -> None:
    """Have the worker answer the leg's offer (the answer goes to the leg's socket)."""
    control.send_command(
        channel_name=worker.channel_name,
        command={
            "type": "media.create_leg",
            "call_id": str(leg.call_id),
            "leg_id": str(leg.pk),
            "sdp": sdp,
            "reply_channel": leg.channel_name,
            "ringback": ringback,
            "bridge_leg_ids": bridge_leg_ids,
        },
    )


def _live_call_count(user: User) -> int:
    return selectors.calls_of(user).filter(state__in=selectors.LIVE_STATES).count()


def _schedule_ring_timeout(call: Call) -> None:
    from toc.calls import tasks  # the task module imports these services

    call_id = str(call.pk)
    seconds = call.organisation.ring_timeout_seconds
    transaction.on_commit(lambda: tasks.end_unanswered_call.apply_async((call_id,), countdown=seconds + 0.05))


# --- answering, declining, hanging up ---------------------------------------------------


def _lock_call_for(user: User, call_id: object) -> Call:
    call = selectors.get_call_for_user(user=user, call_id=call_id)
    if call is None:
        raise _not_found()
    return Call.objects.select_for_update(of=("self",)).select_related("media_worker").get(pk=call.pk)


def _party_of(call: Call, user: User) -> state.Party:
    return state.Party.CALLER if call.caller_id == user.pk else state.Party.CALLEE


def answer_call(*, user: User, call_id: object, channel_name: str, sdp: str, now: datetime | None = None) -> Call:
    """Answer a ringing call on this socket's softphone; every other session stops ringing."""
    moment = now or timezone.now()
    problem = check_offer(sdp)
    if problem:
        raise CallError("invalid", problem)
    with transaction.atomic():
        call = _lock_call_for(user, call_id)
        _apply(call, state.CallEvent.ANSWER, party=_party_of(call, user), now=moment)
        live_legs = [str(pk) for pk in call.legs.exclude(state=LegStatus.ENDED).values_list("pk", flat=True)]
        leg = Leg.objects.create(
            call=call, user=user, party=state.Party.CALLEE, channel_name=channel_name, created_at=moment
        )
        if call.media_worker is not None:
            _create_media_leg(call.media_worker, leg, sdp=sdp, ringback=False, bridge_leg_ids=live_legs)
    return call


def decline_call(*, user: User, call_id: object, now: datetime | None = None) -> Call:
    with transaction.atomic():
        call = _lock_call_for(user, call_id)
        _apply(call, state.CallEvent.DECLINE, party=_party_of(call, user), now=now or timezone.now())
    return call


def hang_up(*, user: User, call_id: object, now: datetime | None = None) -> Call:
    """Hang up: the caller before the answer cancels; either party ends an answered call."""
    with transaction.atomic():
        call = _lock_call_for(user, call_id)
        _apply(call, state.CallEvent.HANGUP, party=_party_of(call, user), now=now or timezone.now())
    return call


def send_dtmf(*, user: User, call_id: object, digits: object) -> Call:
    if not isinstance(digits, str) or not digits or len(digits) > MAX_DTMF_DIGITS or set(digits) - DTMF_CHARACTERS:
        raise CallError("invalid", "Keypad digits are 0-9, * and #, at most 32 at a time.")
    with transaction.atomic():
        call = _lock_call_for(user, call_id)
        if call.state != CallStatus.ANSWERED:
            raise CallError("conflict", "Keypad tones can be sent only during an answered call.")
        leg = selectors.live_leg_of(call=call, user=user)
        if leg is None or call.media_worker is None:
            raise CallError("conflict", "This call's audio is not on this device.")
        control.send_command(
            channel_name=call.media_worker.channel_name,
            command={"type": "media.dtmf", "call_id": str(call.pk), "leg_id": str(leg.pk), "digits": digits},
        )
    return call


def end_unanswered_call(*, call_id: object, now: datetime | None = None) -> bool:
    """The ring timeout task: end the call as "no answer" if it is still ringing past its deadline."""
    moment = now or timezone.now()
    with transaction.atomic():
        call = _locked_call(call_id)
        if call is None or call.state != CallStatus.RINGING or call.ring_deadline is None:
            return False
        if moment < call.ring_deadline:
            return False
        _apply(call, state.CallEvent.TIMEOUT, party=state.Party.SYSTEM, now=moment)
    return True


def fail_call(*, call_id: object, detail: str, now: datetime | None = None) -> bool:
    moment = now or timezone.now()
    with transaction.atomic():
        call = _locked_call(call_id)
        if call is None or call.state == CallStatus.ENDED:
            return False
        call.end_detail = detail[:200]
        _apply(call, state.CallEvent.FAIL, party=state.Party.SYSTEM, now=moment, detail=detail)
    return True


# --- signalling: ICE, legs and sockets ---------------------------------------------------


def _leg_for_socket(*, user: User, leg_id: object, channel_name: str) -> Leg:
    key = selectors.parse_id(leg_id)
    leg = (
        Leg.objects.select_related("call__media_worker")
        .filter(pk=key, user=user, channel_name=channel_name)
        .exclude(state=LegStatus.ENDED)
        .first()
        if key is not None
        else None
    )
    if leg is None:
        raise CallError("not_found", "That call leg does not exist or is not on this device.")
    return leg


def add_ice_candidate(*, user: User, leg_id: object, channel_name: str, candidate: object) -> None:
    if candidate is not None and not _is_candidate(candidate):
        raise CallError("invalid", "An ICE candidate is {candidate, sdpMid, sdpMLineIndex} or null.")
    leg = _leg_for_socket(user=user, leg_id=leg_id, channel_name=channel_name)
    worker = leg.call.media_worker
    if worker is None:
        raise CallError("conflict", "This call has no media.")
    with transaction.atomic():
        control.send_command(
            channel_name=worker.channel_name,
            command={"type": "media.ice", "call_id": str(leg.call_id), "leg_id": str(leg.pk), "candidate": candidate},
        )


def _is_candidate(candidate: object) -> bool:
    if not isinstance(candidate, dict):
        return False
    text = candidate.get("candidate")
    mid = candidate.get("sdpMid")
    index = candidate.get("sdpMLineIndex")
    return (
        isinstance(text, str)
        and len(text) <= 512
        and (mid is None or (isinstance(mid, str) and len(mid) <= 32))
        and (index is None or (isinstance(index, int) and 0 <= index < 16))
    )


def leg_answered(*, leg_id: str, sdp: str) -> None:
    """Keep the engine's answer: a socket that drops before it arrives gets it on reclaim."""
    key = selectors.parse_id(leg_id)
    if key is not None:
        Leg.objects.filter(pk=key).update(answer_sdp=sdp)


def reclaim_leg(*, user: User, leg_id: object, channel_name: str) -> Leg:
    """After a reconnect: this socket signals for the leg again (the media never stopped)."""
    with transaction.atomic():
        key = selectors.parse_id(leg_id)
        leg = (
            Leg.objects.select_for_update(of=("self",))
            .select_related("call")
            .filter(pk=key, user=user)
            .exclude(state=LegStatus.ENDED)
            .first()
            if key is not None
            else None
        )
        if leg is None:
            raise CallError("not_found", "That call leg does not exist or has ended.")
        leg.channel_name = channel_name
        leg.detached_at = None
        leg.save(update_fields=["channel_name", "detached_at"])
        return leg


def detach_socket(*, channel_name: str, now: datetime | None = None) -> int:
    """The socket went away: its legs wait `CALL_RECONNECT_GRACE_SECONDS` to be reclaimed."""
    from toc.calls import tasks

    moment = now or timezone.now()
    with transaction.atomic():
        count = (
            Leg.objects.filter(channel_name=channel_name, detached_at__isnull=True)
            .exclude(state=LegStatus.ENDED)
            .update(detached_at=moment)
        )
        if count:
            transaction.on_commit(
                lambda: tasks.end_detached_legs.apply_async(countdown=settings.CALL_RECONNECT_GRACE_SECONDS + 0.5)
            )
    return count


def end_detached_legs(*, now: datetime | None = None) -> int:
    """Hang up the calls of legs whose socket did not come back within the grace time."""
    moment = now or timezone.now()
    cutoff = moment - timedelta(seconds=settings.CALL_RECONNECT_GRACE_SECONDS)
    ended = 0
    for leg in Leg.objects.filter(detached_at__lte=cutoff).exclude(state=LegStatus.ENDED).select_related("user"):
        try:
            hang_up(user=leg.user, call_id=leg.call_id, now=moment)
            ended += 1
        except CallError:
            _close_leg(leg.pk, moment)
    return ended


def leg_connected(*, leg_id: str, now: datetime | None = None) -> None:
    moment = now or timezone.now()
    with transaction.atomic():
        leg = Leg.objects.select_for_update().filter(pk=leg_id).first()
        if leg is None or leg.state != LegStatus.NEW:
            return
        leg.state = state.advance_leg(state.LegState.NEW, state.LegState.CONNECTED)
        leg.connected_at = moment
        leg.save(update_fields=["state", "connected_at"])
        logger.info("leg %s of call %s connected", leg.pk, leg.call_id)


def leg_failed(*, leg_id: str, detail: str, now: datetime | None = None) -> None:
    """The media of a leg failed: the call cannot go on."""
    leg = Leg.objects.filter(pk=leg_id).first()
    if leg is None:
        return
    logger.warning("leg %s of call %s failed: %s", leg.pk, leg.call_id, detail)
    fail_call(call_id=leg.call_id, detail=detail, now=now)
    _close_leg(leg.pk, now or timezone.now())


def leg_closed(*, leg_id: str, now: datetime | None = None) -> None:
    """The engine let go of a leg. After our own hang-up the leg has ended already; otherwise
    its media went away by itself (the client closed its connection, or consent checks
    expired) and that party has hung up: the call must not go on silently. A client that
    closes its connection as it sends `call.hangup` races this; both end the call the same way."""
    moment = now or timezone.now()
    key = selectors.parse_id(leg_id)
    leg = (
        Leg.objects.select_related("user").filter(pk=key).exclude(state=LegStatus.ENDED).first()
        if key is not None
        else None
    )
    if leg is None:
        return
    logger.info("leg %s of call %s closed by its side", leg.pk, leg.call_id)
    try:
        hang_up(user=leg.user, call_id=leg.call_id, now=moment)
    except CallError:
        pass  # the call had ended already
    _close_leg(leg.pk, moment)


def _locked_call(call_id: object) -> Call | None:
    key = selectors.parse_id(call_id)
    return Call.objects.select_for_update().filter(pk=key).first() if key is not None else None


def _close_leg(leg_id: object, moment: datetime) -> None:
    Leg.objects.filter(pk=selectors.parse_id(leg_id) or uuid.UUID(int=0)).exclude(state=LegStatus.ENDED).update(
        state=LegStatus.ENDED, ended_at=moment
    )


def fail_calls_of_worker(*, worker: MediaWorker, detail: str, now: datetime | None = None) -> int:
    """A media worker stopped: its calls end as failed, and the users are told why."""
    ids = list(Call.objects.filter(media_worker=worker, state__in=selectors.LIVE_STATES).values_list("pk", flat=True))
    return sum(1 for call_id in ids if fail_call(call_id=call_id, detail=detail, now=now))


def sweep_dead_workers(*, now: datetime | None = None) -> int:
    """Fail the calls of workers that stopped heart-beating, then forget those workers."""
    moment = now or timezone.now()
    failed = 0
    for worker in control.list_dead_workers(now=moment):
        failed += fail_calls_of_worker(worker=worker, detail="The media server stopped, so the call ended.", now=moment)
        worker.delete()
    return failed


def sweep_overdue_ringing(*, now: datetime | None = None) -> int:
    """A safety net for ring timeouts whose task was lost (a broker restart)."""
    moment = now or timezone.now()
    overdue = Call.objects.filter(state=CallStatus.RINGING, ring_deadline__lt=moment - timedelta(seconds=2))
    ids = list(overdue.values_list("pk", flat=True))
    return sum(1 for call_id in ids if end_unanswered_call(call_id=call_id, now=moment))


# --- the one place a call changes --------------------------------------------------------


def _value_of(call: Call) -> state.CallValue:
    return state.CallValue(
        state=state.CallState(call.state),
        end_reason=state.EndReason(call.end_reason) if call.end_reason else None,
        created_at=call.created_at,
        ringing_at=call.ringing_at,
        ring_deadline=call.ring_deadline,
        answered_at=call.answered_at,
        ended_at=call.ended_at,
    )


def _apply(call: Call, event: state.CallEvent, *, party: state.Party, now: datetime, detail: str = "") -> None:
    """Apply `event` to a locked call, store it, log it, and announce it after commit."""
    before = state.CallState(call.state)
    try:
        after = state.apply(
            _value_of(call),
            event,
            party=party,
            now=now,
            ring_timeout=timedelta(seconds=call.organisation.ring_timeout_seconds),
        )
    except state.InvalidTransitionError as error:
        raise CallError("conflict", _conflict_message(call, event)) from error
    call.state = after.state.value
    call.end_reason = after.end_reason.value if after.end_reason else ""
    call.ringing_at = after.ringing_at
    call.ring_deadline = after.ring_deadline
    call.answered_at = after.answered_at
    call.ended_at = after.ended_at
    call.save()
    _log(call, event=event.value, party=party, from_state=before.value, to_state=call.state, at=now, detail=detail)
    if after.state is state.CallState.ENDED:
        _end_media(call, now)
        history.write_history(call)
    _announce(call)


def _conflict_message(call: Call, event: state.CallEvent) -> str:
    if call.state == CallStatus.ENDED:
        return "That call has already ended."
    if event is state.CallEvent.ANSWER and call.state == CallStatus.ANSWERED:
        return "That call was already answered."
    return f"That is not possible while the call is {call.get_state_display().lower()}."


def _log(
    call: Call, *, event: str, party: state.Party, from_state: str, to_state: str, at: datetime, detail: str = ""
) -> None:
    CallTransition.objects.create(
        call=call, event=event, party=party.value, from_state=from_state, to_state=to_state, detail=detail[:200], at=at
    )
    logger.info("call %s: %s -%s(%s)-> %s %s", call.pk, from_state or "-", event, party.value, to_state, detail)


def _end_media(call: Call, now: datetime) -> None:
    leg_ids = [str(pk) for pk in call.legs.exclude(state=LegStatus.ENDED).values_list("pk", flat=True)]
    call.legs.exclude(state=LegStatus.ENDED).update(state=LegStatus.ENDED, ended_at=now)
    worker = MediaWorker.objects.filter(pk=call.media_worker_id).first() if call.media_worker_id else None
    if leg_ids and worker is not None:
        control.send_command(
            channel_name=worker.channel_name,
            command={"type": "media.hangup", "call_id": str(call.pk), "leg_ids": leg_ids},
        )


def _announce(call: Call) -> None:
    for user in User.objects.filter(pk__in=[pk for pk in (call.caller_id, call.callee_id) if pk is not None]):
        send_event(
            event_type="call.updated",
            payload={"call": selectors.describe_call(call, viewer=user)},
            user_ids=[user.pk],
        )


def describe_for(call: Call, user: User) -> dict[str, Any]:
    """The call as `user` sees it, read again after the change committed."""
    fresh = Call.objects.get(pk=call.pk)
    return selectors.describe_call(fresh, viewer=user)
