"""Call handling: hold and resume, blind and attended transfer (and to voicemail), switch device.
Park and pickup build on it in `park`.

All of it re-arranges the sides of an answered call and re-bridges legs in the media worker
(DESIGN.md, "Calls and media"). The rules of who may do what when are the state machine's
(`toc.calls.state`); this module moves the people: after a transfer, a park or a pickup the
party who stays becomes the caller side and the newcomer the callee side, and whoever left
gets their line of history at once ("Transferred to …", "Parked at 601").

Locks: one call under `lock_call_for`; an attended transfer locks the call and its
consultation in id order (`lock_calls`).
"""

import logging
import uuid
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from toc.accounts.models import User
from toc.calls import dialplan, history, selectors, state
from toc.calls.models import Call, CallStatus, Leg, LegStatus
from toc.calls.services import conferences, media, voicemail
from toc.calls.services.base import (
    CallError,
    apply_event,
    at_call_limit,
    bridge_id_of,
    check_event,
    end_legs,
    live_legs,
    lock_call_for,
    lock_calls,
    other_party,
    party_of,
    pick_worker,
    refused,
    resolve_destination,
    schedule_ring_timeout,
    start_call,
    touch,
    user_at_extension,
    user_of,
    worker_of,
)
from toc.lib.events import send_event
from toc.presence.models import Connection

logger = logging.getLogger(__name__)

HOLD_SOUNDS = ["hold"]


def answered_for(user: User, call_id: object, action: str, *, in_conference: bool = False) -> Call:
    call = lock_call_for(user, call_id)
    if call.state == CallStatus.ENDED:
        raise CallError("conflict", "That call has already ended.")
    if call.state != CallStatus.ANSWERED:
        raise CallError("conflict", f"Only an answered call can be {action}.")
    if call.conference_id is not None and not in_conference:
        raise refused(f"A conference call cannot be {action}; leave it or mute yourself instead.")
    if call.is_awaiting_pin:
        raise refused("Enter the room's PIN first.")
    if voicemail.session_of(call) is not None:
        raise refused(f"A call in voicemail cannot be {action}.")
    return call


# --- hold -------------------------------------------------------------------------------


def hold_call(*, user: User, call_id: object, now: datetime | None = None) -> Call:
    """Put an answered call on hold: the other side hears music on hold, this side silence. In
    a conference only this user steps out (hearing nothing, not heard); the others go on."""
    moment = now or timezone.now()
    with transaction.atomic():
        call = answered_for(user, call_id, "put on hold", in_conference=True)
        party = party_of(call, user)
        apply_event(call, state.CallEvent.HOLD, party=party, now=moment)
        _hold_media(call, holder=party)
    if call.conference_id is not None:
        conferences.participants_changed(conference_id=call.conference_id)
    return call


def _hold_media(call: Call, *, holder: state.Party) -> None:
    worker = worker_of(call)
    legs = live_legs(call)
    if call.conference_id is not None:
        mine = [leg.pk for leg in legs if leg.user_id == user_of(call, holder)]
        media.unbridge(worker, call_id=call.pk, leg_ids=mine)
        return
    media.unbridge(worker, call_id=call.pk, leg_ids=[leg.pk for leg in legs])
    held = [leg.pk for leg in legs if leg.user_id == user_of(call, other_party(holder))]
    media.play(worker, call_id=call.pk, leg_ids=held, sounds=HOLD_SOUNDS, loop=True)


def resume_call(*, user: User, call_id: object, now: datetime | None = None) -> Call:
    """Take a call off hold (only the one who held it can); the user's other call goes on hold."""
    moment = now or timezone.now()
    with transaction.atomic():
        call = answered_for(user, call_id, "resumed", in_conference=True)
        apply_event(call, state.CallEvent.RESUME, party=party_of(call, user), now=moment)
        _bridge_all(call)
    if call.conference_id is not None:
        conferences.participants_changed(conference_id=call.conference_id)
    hold_other_calls(user=user, except_call_id=call.pk, now=moment)
    return call


def _bridge_all(call: Call) -> None:
    media.bridge(
        worker_of(call), call_id=call.pk, bridge_id=bridge_id_of(call), leg_ids=[leg.pk for leg in live_legs(call)]
    )


def hold_other_calls(*, user: User, except_call_id: uuid.UUID, now: datetime) -> int:
    """Call waiting and swapping: the user's other answered calls, not yet held, go on hold
    (and their own voicemail calls end: voicemail does not wait on hold)."""
    voicemail.end_voicemail_calls(user=user, except_call_id=except_call_id, now=now)
    others = (
        selectors.calls_of(user)
        .filter(state=CallStatus.ANSWERED, held_by="", is_awaiting_pin=False)
        .exclude(pk=except_call_id)
        .values_list("pk", flat=True)
    )
    held = 0
    for other_id in list(others):
        try:
            hold_call(user=user, call_id=other_id, now=now)
            held += 1
        except CallError:
            pass  # it ended or changed meanwhile
    return held


# --- moving the sides ---------------------------------------------------------------------


def keep_as_caller(call: Call, staying: state.Party) -> None:
    """Make the party who stays the caller side (the callee side is then free)."""
    if staying is state.Party.CALLEE and call.callee_id is not None:
        Leg.objects.filter(call=call, user_id=call.callee_id).exclude(state=LegStatus.ENDED).update(
            party=state.Party.CALLER
        )
        call.caller_id, call.caller_name, call.caller_number = call.callee_id, call.callee_name, call.callee_number


def set_callee(call: Call, user: User | None, *, name: str = "", number: str = "") -> None:
    """A new callee side (transfer, park, pickup, a room): the dialled user's routing is over."""
    call.routed_for = None
    call.route_steps = []
    call.callee = user
    call.callee_name = user.display_name if user is not None else name
    call.callee_number = user.extension if user is not None else number


def _leave(call: Call, user: User, *, outcome: str, note: str, now: datetime) -> None:
    """`user` leaves the call: their legs end and their history line is written now."""
    end_legs(call, live_legs(call, user.pk), now)
    history.record_departure(call=call, user=user, outcome=outcome, note=note, at=now)


# --- blind transfer -----------------------------------------------------------------------


def transfer_call(*, user: User, call_id: object, destination: str, now: datetime | None = None) -> Call:
    """Blind transfer: the other party rings `destination` (hearing ringback); this user leaves.
    An invalid destination is refused and the call stays as it was."""
    moment = now or timezone.now()
    route = resolve_destination(destination)
    if route.kind is dialplan.RouteKind.PARK:
        raise refused("To park a call, press Park.")
    if route.kind in voicemail.MENU_ROUTES:
        raise refused("To send the caller to someone's voicemail, choose Voicemail.")
    with transaction.atomic():
        call = answered_for(user, call_id, "transferred")
        transferor = party_of(call, user)
        if route.kind is dialplan.RouteKind.CONFERENCE:
            conferences.transfer_into_room(call=call, user=user, extension=route.target, now=moment)
            return call
        target = _transfer_target(call, user, route.target)
        check_event(call, state.CallEvent.TRANSFER, party=transferor, now=moment)
        _hand_over(
            call,
            user,
            transferor,
            target,
            note=f"Transferred to {target.display_name} ({target.extension}).",
            now=moment,
        )
        apply_event(call, state.CallEvent.TRANSFER, party=transferor, now=moment, also_tell=[user.pk])
        worker = worker_of(call)
        staying = [leg.pk for leg in live_legs(call)]
        media.unbridge(worker, call_id=call.pk, leg_ids=staying)
        media.play(worker, call_id=call.pk, leg_ids=staying, sounds=["ringback"], loop=True)
        schedule_ring_timeout(call)
    return call


def transfer_to_voicemail(*, user: User, call_id: object, destination: str, now: datetime | None = None) -> Call:
    """Send the other party to the voicemail of a user of the system (to leave a message); this
    user leaves the call. Anything but a colleague's extension is refused."""
    moment = now or timezone.now()
    route = dialplan.resolve(destination, region=settings.PHONE_DEFAULT_REGION)
    if route.kind is not dialplan.RouteKind.EXTENSION:
        raise refused("Voicemail transfer works only to users of the system.")
    with transaction.atomic():
        call = answered_for(user, call_id, "transferred")
        transferor = party_of(call, user)
        target = user_at_extension(user, route.target)
        if target.pk in (call.caller_id, call.callee_id):
            raise refused(f"{target.display_name} is already on this call.")
        check_event(call, state.CallEvent.VOICEMAIL, party=transferor, now=moment)
        note = f"Transferred to the voicemail of {target.display_name} ({target.extension})."
        _hand_over(call, user, transferor, target, note=note, now=moment)
        voicemail.divert(call, why="transferred", now=moment, party=transferor, also_tell=[user.pk])
    return call


def _hand_over(call: Call, user: User, transferor: state.Party, target: User, *, note: str, now: datetime) -> None:
    """The transferor leaves (their history line says `note`); the other side stays as the
    caller side and `target` becomes the callee side (the caller's event follows)."""
    _leave(call, user, outcome="transferred", note=note, now=now)
    keep_as_caller(call, other_party(transferor))
    set_callee(call, target)
    call.transferred_by_name = user.display_name


def _transfer_target(call: Call, user: User, extension: str) -> User:
    target = user_at_extension(user, extension)
    if target.pk == user.pk:
        raise refused("You cannot transfer a call to yourself.")
    if target.pk in (call.caller_id, call.callee_id):
        raise refused(f"{target.display_name} is already on this call.")
    if not Connection.objects.filter(user=target).exists():
        raise refused(f"{target.display_name} is not signed in to take calls, so the call stays with you.")
    if at_call_limit(target):
        raise refused(f"{target.display_name} is busy on other calls, so the call stays with you.")
    return target


# --- attended transfer --------------------------------------------------------------------


def start_consultation(
    *, user: User, call_id: object, destination: str, channel_name: str, sdp: str, now: datetime | None = None
) -> Call:
    """Attended transfer, first step: the call goes on hold and this user calls the target."""
    from toc.media.sdp import check_offer

    moment = now or timezone.now()
    problem = check_offer(sdp)
    if problem:
        raise CallError("invalid", problem)
    route = resolve_destination(destination)
    if route.kind is not dialplan.RouteKind.EXTENSION:
        raise refused("An attended transfer goes to a user of your organisation; use Transfer for other numbers.")
    with transaction.atomic():
        call = answered_for(user, call_id, "transferred")
        if Call.objects.filter(consult_for=call, state__in=selectors.LIVE_STATES).exists():
            # A second click on Consult (or another target) would ring a second person.
            raise refused(
                "You are consulting someone about this call already; transfer it or go back to the caller first."
            )
        target = _transfer_target(call, user, route.target)
        if call.held_by != party_of(call, user):
            if call.held_by:
                raise refused("The other side has this call on hold; wait until they resume it.")
            apply_event(call, state.CallEvent.HOLD, party=party_of(call, user), now=moment)
            _hold_media(call, holder=party_of(call, user))
        worker = pick_worker(moment, required=worker_of(call))
        return start_call(
            caller=user,
            callee=target,
            dialled=route.dialled,
            channel_name=channel_name,
            sdp=sdp,
            now=moment,
            worker=worker,
            consult_for=call,
        )


def _consultation_pair(user: User, consultation_id: object) -> tuple[Call, Call]:
    consultation = selectors.get_call_for_user(user=user, call_id=consultation_id)
    if consultation is None or consultation.consult_for_id is None or consultation.caller_id != user.pk:
        raise CallError("not_found", "That is not a consultation call of yours.")
    locked = lock_calls(consultation.pk, consultation.consult_for_id)
    return locked[consultation.consult_for_id], locked[consultation.pk]


def complete_transfer(*, user: User, call_id: object, now: datetime | None = None) -> Call:
    """Attended transfer, last step: the held caller and the consulted target talk; this user
    leaves both calls. If the target is still ringing, the caller is sent there blind."""
    moment = now or timezone.now()
    with transaction.atomic():
        original, consultation = _consultation_pair(user, call_id)
        if original.state == CallStatus.ENDED or user.pk not in (original.caller_id, original.callee_id):
            raise CallError("conflict", "The caller has hung up, so there is nobody to transfer.")
        if consultation.state == CallStatus.ENDED:
            raise CallError("conflict", "The consultation call has ended; transfer again or resume the call.")
        target = consultation.callee
        assert target is not None
        if consultation.state != CallStatus.ANSWERED:
            apply_event(consultation, state.CallEvent.HANGUP, party=state.Party.CALLER, now=moment)
            return _blind_after_consultation(original, user, target, moment)
        transferor = party_of(original, user)
        check_event(original, state.CallEvent.COMPLETE, party=transferor, now=moment)
        target_legs = live_legs(consultation, target.pk)
        note = f"Transferred to {target.display_name} ({target.extension})."
        _leave(original, user, outcome="transferred", note=note, now=moment)
        Leg.objects.filter(pk__in=[leg.pk for leg in target_legs]).update(call=original, party=state.Party.CALLEE)
        keep_as_caller(original, other_party(transferor))
        set_callee(original, target)
        original.transferred_by_name = user.display_name
        apply_event(original, state.CallEvent.COMPLETE, party=transferor, now=moment, also_tell=[user.pk])
        _bridge_all(original)
        apply_event(consultation, state.CallEvent.HANGUP, party=state.Party.CALLER, now=moment)
    return original


def _blind_after_consultation(original: Call, user: User, target: User, moment: datetime) -> Call:
    transferor = party_of(original, user)
    check_event(original, state.CallEvent.TRANSFER, party=transferor, now=moment)
    note = f"Transferred to {target.display_name} ({target.extension})."
    _leave(original, user, outcome="transferred", note=note, now=moment)
    keep_as_caller(original, other_party(transferor))
    set_callee(original, target)
    original.transferred_by_name = user.display_name
    apply_event(original, state.CallEvent.TRANSFER, party=transferor, now=moment, also_tell=[user.pk])
    worker = worker_of(original)
    staying = [leg.pk for leg in live_legs(original)]
    media.play(worker, call_id=original.pk, leg_ids=staying, sounds=["ringback"], loop=True)
    schedule_ring_timeout(original)
    return original


def cancel_consultation(*, user: User, call_id: object, now: datetime | None = None) -> Call:
    """Attended transfer, changed mind: the consultation ends and the held call resumes."""
    moment = now or timezone.now()
    with transaction.atomic():
        original, consultation = _consultation_pair(user, call_id)
        if consultation.state != CallStatus.ENDED:
            apply_event(consultation, state.CallEvent.HANGUP, party=state.Party.CALLER, now=moment)
        if original.state == CallStatus.ANSWERED and original.held_by == party_of(original, user).value:
            apply_event(original, state.CallEvent.RESUME, party=party_of(original, user), now=moment)
            _bridge_all(original)
    return original


# --- switch device ------------------------------------------------------------------------


def list_devices(*, user: User, channel_name: str) -> list[dict[str, object]]:
    """The user's signed-in devices (sockets), this one marked, for Switch Device."""
    return [
        {
            "id": connection.pk,
            "label": connection.label or "Browser",
            "connected_at": connection.connected_at.isoformat(),
            "is_this": connection.channel_name == channel_name,
        }
        for connection in Connection.objects.filter(user=user).order_by("connected_at")
    ]


def request_switch(*, user: User, call_id: object, connection_id: object, now: datetime | None = None) -> Call:
    """Ring another of this user's devices (a signed-in session) with this call; answering it
    there moves the call without dropping the other side."""
    with transaction.atomic():
        call = lock_call_for(user, call_id)
        if call.state != CallStatus.ANSWERED:
            raise CallError("conflict", "Only an answered call can move to another device.")
        legs = live_legs(call, user.pk)
        if not legs:
            raise CallError("conflict", "This call's audio is not on any of your devices.")
        target = Connection.objects.filter(
            pk=connection_id if isinstance(connection_id, int) else -1, user=user
        ).first()
        if target is None:
            raise CallError("not_found", "That device is not signed in any more.")
        if target.channel_name in {leg.channel_name for leg in legs}:
            raise refused("The call is on that device already.")
        send_event(
            event_type="call.switch_requested",
            payload={"call": selectors.describe_call(call, viewer=user), "connection_id": target.pk},
            user_ids=[user.pk],
        )
    return call


def take_call(*, user: User, call_id: object, channel_name: str, sdp: str, now: datetime | None = None) -> Call:
    """This socket takes over the user's side of an answered call (Switch Device): a new leg
    joins the bridge, then the old one ends."""
    from toc.media.sdp import check_offer

    moment = now or timezone.now()
    problem = check_offer(sdp)
    if problem:
        raise CallError("invalid", problem)
    with transaction.atomic():
        call = lock_call_for(user, call_id)
        if call.state != CallStatus.ANSWERED:
            raise CallError("conflict", "Only an answered call can move to another device.")
        mine = live_legs(call, user.pk)
        if any(leg.channel_name == channel_name for leg in mine):
            raise refused("The call is on this device already.")
        others = [leg.pk for leg in live_legs(call) if leg.user_id != user.pk]
        leg = Leg.objects.create(
            call=call,
            user=user,
            party=party_of(call, user) if call.conference_id is None else state.Party.CALLER,
            channel_name=channel_name,
            created_at=moment,
            is_muted=any(old.is_muted for old in mine),
        )
        held = bool(call.held_by) or call.is_awaiting_pin
        media.create_leg(
            worker_of(call),
            leg,
            sdp=sdp,
            # Until the room's PIN is right, the leg stays out of the conference's bridge.
            bridge_id=str(call.pk) if call.is_awaiting_pin else bridge_id_of(call),
            bridge_leg_ids=[] if held else others,
            sounds=HOLD_SOUNDS if call.held_by and call.held_by != party_of(call, user).value else [],
            loop=True,
        )
        if leg.is_muted:  # muted by the conference's owner: the new device stays muted
            media.mute(worker_of(call), call_id=call.pk, leg_id=leg.pk, muted=True)
        Leg.objects.filter(pk__in=[old.pk for old in mine]).update(state=LegStatus.ENDED, ended_at=moment)
        media.hangup(worker_of(call), call_id=call.pk, leg_ids=[old.pk for old in mine])
        touch(call)
    return call
