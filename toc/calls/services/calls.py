"""Writes of calls: place, answer, decline, hang up, keypad, time out, fail; legs and sockets.

Every change goes through `base.apply_event` under the call's row lock, so two sessions
answering at once, or an answer racing the ring timeout, end with exactly one winner and the
loser gets a clear "conflict" error. What dialling a park slot or a conference room does lives
in `handling` and `conferences`.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from toc.accounts.models import User
from toc.calls import dialplan, selectors, state
from toc.calls.models import Call, CallStatus, Leg, LegStatus
from toc.calls.services import conferences, delivery, handling, media, park, voicemail
from toc.calls.services.base import (
    CallError,
    apply_event,
    at_call_limit,
    bridge_id_of,
    check_event,
    close_leg,
    live_legs,
    lock_call_for,
    locked_call,
    party_of,
    pick_worker,
    refused,
    resolve_destination,
    schedule_ring_timeout,
    start_call,
    user_at_extension,
    worker_of,
    worker_of_live_call,
)
from toc.lib.events import send_event
from toc.media import control
from toc.media.models import MediaWorker
from toc.media.sdp import check_offer

logger = logging.getLogger(__name__)

DTMF_CHARACTERS = set("0123456789*#")
MAX_DTMF_DIGITS = 32


def place_call(*, user: User, channel_name: str, destination: str, sdp: str, now: datetime | None = None) -> Call:
    """Dial `destination` from this socket's softphone with its WebRTC offer `sdp`: a user's
    extension rings them, a park slot picks up the call parked there, a room joins it."""
    moment = now or timezone.now()
    if user.organisation_id is None:
        raise refused("Only members of an organisation can make calls.")
    problem = check_offer(sdp)
    if problem:
        raise CallError("invalid", problem)
    route = resolve_destination(destination, main_number=user.organisation.main_number if user.organisation else "")
    if route.kind is dialplan.RouteKind.OUTSIDE:  # only the organisation's own main number gets here
        attendant_call = voicemail.dial_main_number(
            user=user, route=route, channel_name=channel_name, sdp=sdp, now=moment
        )
        handling.hold_other_calls(user=user, except_call_id=attendant_call.pk, now=moment)
        return attendant_call
    if route.kind is dialplan.RouteKind.PARK:
        return park.pick_up_parked_call(user=user, slot=route.target, channel_name=channel_name, sdp=sdp, now=moment)
    if route.kind in voicemail.MENU_ROUTES:
        mailbox_call = voicemail.dial(user=user, route=route, channel_name=channel_name, sdp=sdp, now=moment)
        handling.hold_other_calls(user=user, except_call_id=mailbox_call.pk, now=moment)
        return mailbox_call
    if route.kind is dialplan.RouteKind.CONFERENCE:
        room_call = conferences.dial_room(
            user=user, extension=route.target, channel_name=channel_name, sdp=sdp, now=moment
        )
        handling.hold_other_calls(user=user, except_call_id=room_call.pk, now=moment)
        return room_call
    callee = user_at_extension(user, route.target)
    if callee.pk == user.pk:
        raise refused("That is your own extension.")
    with transaction.atomic():
        if at_call_limit(user):
            raise CallError("conflict", "You already have calls in progress; hang one up first.")
        worker = pick_worker(moment, required=worker_of_live_call(user, moment))
        call = start_call(
            caller=user,
            callee=callee,
            dialled=route.dialled,
            channel_name=channel_name,
            sdp=sdp,
            now=moment,
            worker=worker,
        )
    # Like any phone: dialling out while in a call puts that call on hold.
    handling.hold_other_calls(user=user, except_call_id=call.pk, now=moment)
    return call


# --- answering, declining, hanging up ---------------------------------------------------


def answer_call(*, user: User, call_id: object, channel_name: str, sdp: str, now: datetime | None = None) -> Call:
    """Answer a ringing call on this socket's softphone; every other session stops ringing,
    and the user's other answered call (call waiting) goes on hold."""
    moment = now or timezone.now()
    problem = check_offer(sdp)
    if problem:
        raise CallError("invalid", problem)
    with transaction.atomic():
        call = lock_call_for(user, call_id)
        call.route_steps = []  # answered: nobody else rings for it
        apply_event(call, state.CallEvent.ANSWER, party=party_of(call, user), now=moment)
        others = [leg.pk for leg in live_legs(call)]
        leg = Leg.objects.create(
            call=call, user=user, party=state.Party.CALLEE, channel_name=channel_name, created_at=moment
        )
        media.create_leg(worker_of(call), leg, sdp=sdp, bridge_id=bridge_id_of(call), bridge_leg_ids=others)
    if call.conference_id is not None:
        conferences.participants_changed(conference_id=call.conference_id)
    handling.hold_other_calls(user=user, except_call_id=call.pk, now=moment)
    return call


def decline_call(*, user: User, call_id: object, now: datetime | None = None) -> Call:
    """Decline a ringing call: it goes to the user's voicemail (or ends, when voicemail cannot
    take it: an invitation into a conference, a consultation)."""
    moment = now or timezone.now()
    with transaction.atomic():
        call = lock_call_for(user, call_id)
        check_event(call, state.CallEvent.DECLINE, party=party_of(call, user), now=moment)
        if delivery.is_ringing_a_colleague(call) and delivery.has_more_steps(call):
            # A colleague ringing for someone else's rules declines it for themselves only:
            # the next destination rings.
            if delivery.forward_to_next(call, now=moment, declined=True):
                schedule_ring_timeout(call)
                return call
        if voicemail.can_take(call):
            left = delivery.back_to_routed_user(call, now=moment, declined=True)
            voicemail.divert(call, why="no_answer" if left else "declined", now=moment, also_tell=left)
        else:
            apply_event(call, state.CallEvent.DECLINE, party=party_of(call, user), now=moment)
    return call


def hang_up(*, user: User, call_id: object, now: datetime | None = None) -> Call:
    """Hang up: the caller before the answer cancels; either party ends an answered call. In
    a conference only this user leaves; the others go on."""
    moment = now or timezone.now()
    with transaction.atomic():
        call = lock_call_for(user, call_id)
        if call.conference_id is not None and call.state == CallStatus.ANSWERED:
            conferences.leave(call=call, user=user, now=moment)
            return call
        apply_event(call, state.CallEvent.HANGUP, party=party_of(call, user), now=moment)
    return call


def set_phone_dnd(*, user: User, enabled: object) -> bool:
    """Phone DND on or off: while on, every call to the user goes straight to voicemail. All the
    user's sessions are told (`call.phone_dnd_changed`)."""
    if not isinstance(enabled, bool):
        raise CallError("invalid", "Phone DND is true or false.")
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(phone_dnd=enabled)
        user.phone_dnd = enabled
        send_event(event_type="call.phone_dnd_changed", payload={"enabled": enabled}, user_ids=[user.pk])
    logger.info("user %s turned Phone DND %s", user.pk, "on" if enabled else "off")
    return enabled


def send_dtmf(*, user: User, call_id: object, digits: object) -> Call:
    if not isinstance(digits, str) or not digits or len(digits) > MAX_DTMF_DIGITS or set(digits) - DTMF_CHARACTERS:
        raise CallError("invalid", "Keypad digits are 0-9, * and #, at most 32 at a time.")
    with transaction.atomic():
        call = lock_call_for(user, call_id)
        if call.state != CallStatus.ANSWERED:
            raise CallError("conflict", "Keypad tones can be sent only during an answered call.")
        leg = selectors.live_leg_of(call=call, user=user)
        if leg is None or call.media_worker is None:
            raise CallError("conflict", "This call's audio is not on this device.")
        if call.is_awaiting_pin:
            conferences.enter_pin_keys(call=call, leg=leg, keys=digits, now=timezone.now())
        elif voicemail.press_keys(call=call, leg=leg, keys=digits):
            pass
        else:
            media.dtmf(call.media_worker, call_id=call.pk, leg_id=leg.pk, digits=digits)
    return call


def end_unanswered_call(*, call_id: object, now: datetime | None = None) -> bool:
    """The ring timeout task: a call still ringing past its deadline goes to voicemail (or
    ends as "no answer" when voicemail cannot take it)."""
    moment = now or timezone.now()
    with transaction.atomic():
        call = locked_call(call_id)
        if call is None or call.state != CallStatus.RINGING or call.ring_deadline is None:
            return False
        if moment < call.ring_deadline:
            return False
        check_event(call, state.CallEvent.TIMEOUT, party=state.Party.SYSTEM, now=moment)
        if delivery.has_more_steps(call) and live_legs(call) and delivery.forward_to_next(call, now=moment):
            schedule_ring_timeout(call)
        elif voicemail.can_take(call) and live_legs(call):
            left = delivery.back_to_routed_user(call, now=moment)
            voicemail.divert(call, why="no_answer", now=moment, also_tell=left)
        else:
            apply_event(call, state.CallEvent.TIMEOUT, party=state.Party.SYSTEM, now=moment)
    return True


def fail_call(*, call_id: object, detail: str, now: datetime | None = None) -> bool:
    moment = now or timezone.now()
    with transaction.atomic():
        call = locked_call(call_id)
        if call is None or call.state == CallStatus.ENDED:
            return False
        call.end_detail = detail[:200]
        apply_event(call, state.CallEvent.FAIL, party=state.Party.SYSTEM, now=moment, detail=detail)
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
            close_leg(leg.pk, moment)
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
    close_leg(leg.pk, now or timezone.now())


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
    close_leg(leg.pk, moment)


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
