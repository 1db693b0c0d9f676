"""Conferences: rooms dialled by extension (7xx, optional PIN), and instant conferences made by
adding people to a call or from the Conference window.

A conference is one media bridge (`Conference.bridge_id`) on one media worker; its
participants are the live legs of its calls (each hears everyone but themself). A user who
dials a room gets a call of their own into it; people added to a call are rung by a call of
their own (with no caller leg) that joins the bridge when answered. Hanging up in a
conference leaves it; an instant conference ends when fewer than two people remain and
nobody is being rung; a room's conference ends when it is empty.

Who may: anyone in the organisation dials a room (and must enter its PIN: three wrong PINs
hang up); the conference's owner (the room's owner, or whoever started an instant one) or an
organisation admin mutes and removes participants; only admins change a room's PIN. PINs
are stored hashed. Locks: a call change locks that call; `participants_changed` and
`settle_conference` run after commit, lock the conference row, then its calls in id order.
"""

import logging
import re
import uuid
from datetime import datetime

from django.contrib.auth.hashers import check_password, make_password
from django.db import IntegrityError, transaction
from django.utils import timezone

from toc.accounts.access import organisation_id_of
from toc.accounts.models import User
from toc.calls import history, selectors, state
from toc.calls.conference_pin import PinEntry, PinOutcome, enter_key
from toc.calls.models import Call, CallStatus, Conference, ConferenceRoom, Leg, LegStatus
from toc.calls.services import media
from toc.calls.services.base import (
    CallError,
    apply_event,
    at_call_limit,
    end_legs,
    live_legs,
    lock_calls,
    not_found,
    party_of,
    pick_worker,
    refused,
    schedule_ring_timeout,
    touch,
    user_at_extension,
    worker_of,
)
from toc.presence.models import Connection

logger = logging.getLogger(__name__)

MAX_PARTICIPANTS = 20  # one media core holds about 25 (docs/performance.md, "Conference")
PIN_PATTERN = re.compile(r"^[0-9]{4,8}\Z")  # \Z: "$" would let a trailing newline in


# --- joining ------------------------------------------------------------------------------


def _live_conference_for(room: ConferenceRoom, now: datetime) -> Conference:
    """The room's conference going on, or a new one on a picked worker (one per room: a second
    creator loses the unique index and joins the first)."""
    existing = Conference.objects.select_for_update().filter(room=room, ended_at__isnull=True).first()
    if existing is not None:
        return existing
    worker = pick_worker(now)
    try:
        with transaction.atomic():
            return Conference.objects.create(
                organisation_id=room.organisation_id, room=room, owner=room.owner, media_worker=worker, created_at=now
            )
    except IntegrityError:
        return Conference.objects.select_for_update().get(room=room, ended_at__isnull=True)


def _room_of(user: User, extension: str) -> ConferenceRoom:
    room = ConferenceRoom.objects.filter(organisation_id=organisation_id_of(user), extension=extension).first()
    if room is None:
        raise refused(f"There is no conference room {extension} in your organisation.")
    return room


def dial_room(*, user: User, extension: str, channel_name: str, sdp: str, now: datetime) -> Call:
    """Dialling a room's extension: a call into its conference (after the PIN, if it has one)."""
    room = _room_of(user, extension)
    with transaction.atomic():
        if at_call_limit(user):
            raise CallError("conflict", "You already have calls in progress; hang one up first.")
        conference = _live_conference_for(room, now)
        _check_room_has_space(conference)
        call = _conference_call(user, conference, dialled=extension, name=room.name, number=extension, now=now)
        call.is_awaiting_pin = bool(room.pin_hash)
        call.save(update_fields=["is_awaiting_pin"])
        leg = Leg.objects.create(
            call=call, user=user, party=state.Party.CALLER, channel_name=channel_name, created_at=now
        )
        _answer_by_system(call, now)
        if call.is_awaiting_pin:
            media.create_leg(worker_of(call), leg, sdp=sdp, bridge_id=str(call.pk), sounds=["prompt:conference-pin"])
        else:
            media.create_leg(worker_of(call), leg, sdp=sdp, bridge_id=conference.bridge_id)
            _greet(call, leg, conference)
    participants_changed(conference_id=conference.pk)
    return call


def _conference_call(
    caller: User, conference: Conference, *, dialled: str, name: str, number: str, now: datetime
) -> Call:
    call = Call.objects.create(
        organisation_id=conference.organisation_id,
        caller=caller,
        callee=None,
        dialled=dialled,
        caller_name=caller.display_name,
        caller_number=caller.extension,
        callee_name=name,
        callee_number=number,
        media_worker_id=conference.media_worker_id,
        conference=conference,
        created_at=now,
    )
    return call


def _answer_by_system(call: Call, now: datetime) -> None:
    apply_event(call, state.CallEvent.RING, party=state.Party.SYSTEM, now=now)
    apply_event(call, state.CallEvent.ANSWER, party=state.Party.SYSTEM, now=now)


def _greet(call: Call, leg: Leg, conference: Conference) -> None:
    alone = _participant_count(conference) <= 1
    sounds = ["prompt:conference-alone"] if alone else ["prompt:conference-joined"]
    media.play(worker_of(call), call_id=call.pk, leg_ids=[leg.pk], sounds=sounds)


def _check_room_has_space(conference: Conference) -> None:
    if _participant_count(conference) >= MAX_PARTICIPANTS:
        raise refused(f"That conference is full ({MAX_PARTICIPANTS} people).")


def _participant_legs(conference: Conference) -> list[Leg]:
    return list(
        Leg.objects.filter(call__conference=conference, call__state=CallStatus.ANSWERED, call__is_awaiting_pin=False)
        .exclude(state=LegStatus.ENDED)
        .select_related("user", "call")
        .order_by("created_at")
    )


def _conference_id(call: Call) -> uuid.UUID:
    assert call.conference_id is not None
    return call.conference_id


def _participant_count(conference: Conference) -> int:
    return len({leg.user_id for leg in _participant_legs(conference)})


def enter_pin_keys(*, call: Call, leg: Leg, keys: str, now: datetime) -> None:
    """Keypad keys while a room asks for its PIN (the call is locked by the caller)."""
    conference = Conference.objects.select_related("room").get(pk=_conference_id(call))
    room = conference.room
    assert room is not None
    entry = PinEntry(digits=call.pin_digits, attempts=call.pin_attempts)
    outcome = PinOutcome.COLLECTING
    for key in keys:
        entry, outcome = enter_key(entry, key, is_correct=lambda pin: check_password(pin, room.pin_hash))
        if outcome is not PinOutcome.COLLECTING and outcome is not PinOutcome.WRONG:
            break
        if outcome is PinOutcome.WRONG:
            media.play(worker_of(call), call_id=call.pk, leg_ids=[leg.pk], sounds=["prompt:conference-pin-wrong"])
    call.pin_digits, call.pin_attempts = entry.digits, entry.attempts
    if outcome is PinOutcome.ADMITTED:
        call.is_awaiting_pin = False
        call.save(update_fields=["pin_digits", "pin_attempts", "is_awaiting_pin"])
        media.bridge(worker_of(call), call_id=call.pk, bridge_id=conference.bridge_id, leg_ids=[leg.pk])
        _greet(call, leg, conference)
        transaction.on_commit(lambda: participants_changed(conference_id=conference.pk))
        touch(call)
    elif outcome is PinOutcome.LOCKED_OUT:
        logger.warning("call %s: three wrong PINs for room %s", call.pk, room.extension)
        call.save(update_fields=["pin_digits", "pin_attempts"])
        media.play(
            worker_of(call), call_id=call.pk, leg_ids=[leg.pk], sounds=["prompt:conference-goodbye"], hangup_after=True
        )
        Leg.objects.filter(pk=leg.pk).update(state=LegStatus.ENDED, ended_at=now)
        call.end_detail = "The conference PIN was wrong three times."
        apply_event(call, state.CallEvent.FAIL, party=state.Party.SYSTEM, now=now, detail=call.end_detail)
    else:
        call.save(update_fields=["pin_digits", "pin_attempts"])


# --- adding people ------------------------------------------------------------------------


def add_people(*, user: User, call_id: object, destination: str, now: datetime | None = None) -> Call:
    """Ring `destination` into this call: the call becomes (or already is) a conference, and the
    person joins it when they answer. Returns the call that rings them."""
    moment = now or timezone.now()
    with transaction.atomic():
        call = _call_of(user, call_id)
        if call.state != CallStatus.ANSWERED:
            raise CallError("conflict", "People can be added only to an answered call.")
        if call.held_by:
            raise refused("Resume the call before adding people to it.")
        if call.is_awaiting_pin:
            raise refused("Enter the room's PIN first.")
        invitee = user_at_extension(user, destination.strip())
        conference = _conference_of(call, user, moment)
        return _invite(conference, user, invitee, moment)


def _call_of(user: User, call_id: object) -> Call:
    call = selectors.get_call_for_user(user=user, call_id=call_id)
    if call is None:
        raise not_found()
    return Call.objects.select_for_update(of=("self",)).get(pk=call.pk)


def _conference_of(call: Call, user: User, now: datetime) -> Conference:
    """The call's conference; a two-party call becomes an instant one (both sides stay in it)."""
    if call.conference_id is not None:
        return Conference.objects.select_for_update().get(pk=call.conference_id)
    conference = Conference.objects.create(
        organisation_id=call.organisation_id, owner=user, media_worker_id=call.media_worker_id, created_at=now
    )
    call.conference = conference
    call.save(update_fields=["conference"])  # `touch` stores only the version
    touch(call)
    media.bridge(
        worker_of(call), call_id=call.pk, bridge_id=conference.bridge_id, leg_ids=[leg.pk for leg in live_legs(call)]
    )
    return conference


def _invite(conference: Conference, inviter: User, invitee: User, now: datetime) -> Call:
    in_it = {leg.user_id for leg in _participant_legs(conference)}
    ringing = Call.objects.filter(conference=conference, state=CallStatus.RINGING, callee=invitee).exists()
    if invitee.pk in in_it or ringing:
        raise refused(f"{invitee.display_name} is in this conference already.")
    if not Connection.objects.filter(user=invitee).exists():
        raise refused(f"{invitee.display_name} is not signed in to take calls.")
    if at_call_limit(invitee):
        raise refused(f"{invitee.display_name} is busy on other calls.")
    _check_room_has_space(conference)
    room = conference.room
    call = Call.objects.create(
        organisation_id=conference.organisation_id,
        caller=None,
        callee=invitee,
        dialled=invitee.extension,
        caller_name=room.name if room is not None else inviter.display_name,
        caller_number=room.extension if room is not None else inviter.extension,
        callee_name=invitee.display_name,
        callee_number=invitee.extension,
        media_worker_id=conference.media_worker_id,
        conference=conference,
        transferred_by_name=inviter.display_name,
        created_at=now,
    )
    apply_event(call, state.CallEvent.RING, party=state.Party.SYSTEM, now=now)
    schedule_ring_timeout(call)
    transaction.on_commit(lambda: participants_changed(conference_id=conference.pk))
    return call


def start_conference(
    *, user: User, room_id: object, invitees: list[str], channel_name: str, sdp: str, now: datetime | None = None
) -> Call:
    """The Conference window's Join: into a room (its PIN asked as when dialled), or an instant
    conference that rings the invited people."""
    from toc.media.sdp import check_offer

    moment = now or timezone.now()
    problem = check_offer(sdp)
    if problem:
        raise CallError("invalid", problem)
    people = [user_at_extension(user, extension) for extension in dict.fromkeys(invitees)]
    if any(person.pk == user.pk for person in people):
        raise refused("You are in the conference already; invite other people.")
    if room_id is not None:
        room = ConferenceRoom.objects.filter(
            pk=room_id if isinstance(room_id, int) else -1, organisation_id=organisation_id_of(user)
        ).first()
        if room is None:
            raise CallError("not_found", "That conference room does not exist.")
        call = dial_room(user=user, extension=room.extension, channel_name=channel_name, sdp=sdp, now=moment)
        with transaction.atomic():
            conference = Conference.objects.select_for_update().get(pk=_conference_id(call))
            for person in people:
                _invite(conference, user, person, moment)
        return call
    if not people:
        raise refused("Invite at least one person to an instant conference.")
    with transaction.atomic():
        if at_call_limit(user):
            raise CallError("conflict", "You already have calls in progress; hang one up first.")
        worker = pick_worker(moment)
        conference = Conference.objects.create(
            organisation_id=organisation_id_of(user), owner=user, media_worker=worker, created_at=moment
        )
        call = _conference_call(user, conference, dialled="", name="Instant conference", number="", now=moment)
        leg = Leg.objects.create(
            call=call, user=user, party=state.Party.CALLER, channel_name=channel_name, created_at=moment
        )
        _answer_by_system(call, moment)
        media.create_leg(worker, leg, sdp=sdp, bridge_id=conference.bridge_id)
        for person in people:
            _invite(conference, user, person, moment)
    return call


def transfer_into_room(*, call: Call, user: User, extension: str, now: datetime) -> None:
    """Blind transfer to a room's extension: the other side joins its conference (no PIN: the
    person transferring them is a member who vouches for them); this user leaves."""
    from toc.calls.services.handling import keep_as_caller, set_callee

    room = _room_of(user, extension)
    conference = _live_conference_for(room, now)
    if conference.media_worker_id != call.media_worker_id:
        raise CallError("busy_system", "That conference is on another media server; ask the caller to dial in.")
    _check_room_has_space(conference)
    transferor = party_of(call, user)
    end_legs(call, live_legs(call, user.pk), now)
    history.record_departure(
        call=call, user=user, outcome="transferred", note=f"Transferred to {room.name} ({room.extension}).", at=now
    )
    keep_as_caller(call, state.Party.CALLEE if transferor is state.Party.CALLER else state.Party.CALLER)
    set_callee(call, None, name=room.name, number=room.extension)
    call.conference = conference
    call.transferred_by_name = user.display_name
    call.held_by = ""
    call.save()
    touch(call, also_tell=[user.pk])
    media.bridge(
        worker_of(call), call_id=call.pk, bridge_id=conference.bridge_id, leg_ids=[leg.pk for leg in live_legs(call)]
    )
    transaction.on_commit(lambda: participants_changed(conference_id=conference.pk))


# --- leaving, muting, removing ------------------------------------------------------------


def leave(*, call: Call, user: User, now: datetime) -> None:
    """This user leaves the conference (the call is locked); the others go on."""
    conference_id = _conference_id(call)
    end_legs(call, live_legs(call, user.pk), now)
    if not live_legs(call):
        apply_event(call, state.CallEvent.HANGUP, party=party_of(call, user), now=now)  # settles it
    else:
        _drop_side(call, user, now, note="You left the conference.")
        transaction.on_commit(lambda: settle_conference(conference_id=conference_id, now=now))


def _drop_side(call: Call, user: User, now: datetime, *, note: str) -> None:
    """`user` is no longer a side of a conference call that others are still on."""
    from toc.calls.services.handling import keep_as_caller, set_callee

    history.record_departure(call=call, user=user, outcome="completed", note=note, at=now)
    if call.caller_id == user.pk:
        keep_as_caller(call, state.Party.CALLEE)
    conference = Conference.objects.select_related("room").get(pk=_conference_id(call))
    room = conference.room
    set_callee(call, None, name=room.name if room else "Conference", number=room.extension if room else "")
    call.save()
    touch(call, also_tell=[user.pk])


def _may_manage(user: User, conference: Conference) -> bool:
    return user.is_org_admin or (conference.owner_id is not None and conference.owner_id == user.pk)


def _managed_leg(user: User, conference_id: object, leg_id: object) -> tuple[Conference, Leg]:
    key = selectors.parse_id(conference_id)
    conference = (
        Conference.objects.filter(pk=key, organisation_id=organisation_id_of(user), ended_at__isnull=True).first()
        if key is not None
        else None
    )
    if conference is None or not _is_participant(user, conference):
        raise CallError("not_found", "That conference does not exist or you are not in it.")
    if not _may_manage(user, conference):
        raise CallError("forbidden", "Only the conference's owner or an admin can do that.")
    leg_key = selectors.parse_id(leg_id)
    leg = next((leg for leg in _participant_legs(conference) if leg.pk == leg_key), None)
    if leg is None:
        raise CallError("not_found", "That person is not in the conference any more.")
    return conference, leg


def _is_participant(user: User, conference: Conference) -> bool:
    return any(leg.user_id == user.pk for leg in _participant_legs(conference))


def mute_participant(*, user: User, conference_id: object, leg_id: object, muted: bool) -> None:
    conference, leg = _managed_leg(user, conference_id, leg_id)
    with transaction.atomic():
        Leg.objects.filter(pk=leg.pk).update(is_muted=bool(muted))
        media.mute(worker_of(leg.call), call_id=leg.call_id, leg_id=leg.pk, muted=bool(muted))
    participants_changed(conference_id=conference.pk)


def remove_participant(*, user: User, conference_id: object, leg_id: object, now: datetime | None = None) -> None:
    moment = now or timezone.now()
    conference, leg = _managed_leg(user, conference_id, leg_id)
    if leg.user_id == user.pk:
        raise refused("To leave the conference, hang up.")
    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=leg.call_id)
        removed = leg.user
        end_legs(call, [leg], moment)
        if not live_legs(call):
            call.end_detail = f"{user.display_name} removed you from the conference."
            apply_event(call, state.CallEvent.FAIL, party=state.Party.SYSTEM, now=moment, detail=call.end_detail)
        else:
            _drop_side(call, removed, moment, note=f"{user.display_name} removed you from the conference.")
    settle_conference(conference_id=conference.pk, now=moment)


# --- keeping it tidy ----------------------------------------------------------------------


def participants_changed(*, conference_id: uuid.UUID) -> None:
    """Tell everyone in the conference (or being rung into it) who is in it now."""
    with transaction.atomic():
        for call in Call.objects.filter(conference_id=conference_id).exclude(state=CallStatus.ENDED).order_by("pk"):
            locked = lock_calls(call.pk).get(call.pk)
            if locked is not None and locked.state != CallStatus.ENDED:
                touch(locked)


def settle_conference(*, conference_id: uuid.UUID, now: datetime | None = None) -> None:
    """After someone left: an instant conference with fewer than two people and nobody ringing
    ends (the last one's call with it); an empty room's conference ends."""
    moment = now or timezone.now()
    with transaction.atomic():
        conference = Conference.objects.select_for_update().filter(pk=conference_id, ended_at__isnull=True).first()
        if conference is None:
            return
        people = {leg.user_id for leg in _participant_legs(conference)}
        ringing = Call.objects.filter(conference=conference, state=CallStatus.RINGING).exists()
        waiting = Call.objects.filter(conference=conference, state=CallStatus.ANSWERED, is_awaiting_pin=True).exists()
        if ringing or waiting or len(people) >= (1 if conference.room_id else 2):
            transaction.on_commit(lambda: participants_changed(conference_id=conference.pk))
            return
        for call in Call.objects.filter(conference=conference).exclude(state=CallStatus.ENDED).order_by("pk"):
            locked = Call.objects.select_for_update().get(pk=call.pk)
            if locked.state != CallStatus.ENDED:
                apply_event(
                    locked, state.CallEvent.HANGUP, party=state.Party.SYSTEM, now=moment, detail="conference over"
                )
        conference.ended_at = moment
        conference.save(update_fields=["ended_at"])


# --- rooms ----------------------------------------------------------------------------------


def set_room_pin(*, user: User, room_id: object, pin: object) -> ConferenceRoom:
    """Admins set or clear (empty string) a room's PIN: 4 to 8 digits, stored hashed."""
    if not user.is_org_admin:
        raise CallError("forbidden", "Only an admin can change a conference room's PIN.")
    room = ConferenceRoom.objects.filter(
        pk=room_id if isinstance(room_id, int) else -1, organisation_id=organisation_id_of(user)
    ).first()
    if room is None:
        raise CallError("not_found", "That conference room does not exist.")
    if not isinstance(pin, str) or (pin and not PIN_PATTERN.match(pin)):
        raise CallError("invalid", "A PIN is 4 to 8 digits (or empty for no PIN).")
    room.pin_hash = make_password(pin) if pin else ""
    room.save(update_fields=["pin_hash"])
    logger.info("user %s %s the PIN of room %s", user.pk, "changed" if pin else "removed", room.extension)
    return room


def create_room(
    *, organisation_id: int, name: str, extension: str, owner: User | None = None, pin: str = ""
) -> ConferenceRoom:
    """A conference room (seeding and admin tools): extension 7xx, unique in the organisation."""
    if not re.fullmatch(r"7[0-9]{2}", extension):
        raise CallError("invalid", "A conference room's extension is 700 to 799.")
    if pin and not PIN_PATTERN.match(pin):
        raise CallError("invalid", "A PIN is 4 to 8 digits (or empty for no PIN).")
    if ConferenceRoom.objects.filter(organisation_id=organisation_id, extension=extension).exists():
        raise CallError("conflict", f"There is a conference room at {extension} already.")
    return ConferenceRoom.objects.create(
        organisation_id=organisation_id,
        name=name,
        extension=extension,
        owner=owner,
        pin_hash=make_password(pin) if pin else "",
    )
