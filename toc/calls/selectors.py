"""Reads of calls and call history, always for one user; a call is what that user sees of it."""

import uuid
from typing import Any

from django.db.models import Q, QuerySet

from toc.accounts.models import User
from toc.calls.models import (
    Call,
    CallRecord,
    CallStatus,
    Conference,
    ConferenceRoom,
    HistoryDirection,
    Leg,
    LegStatus,
)
from toc.calls.state import EndReason

LIVE_STATES = (CallStatus.DIALING, CallStatus.RINGING, CallStatus.ANSWERED, CallStatus.PARKED)


def calls_of(user: User) -> QuerySet[Call]:
    if user.organisation_id is None:
        return Call.objects.none()
    return Call.objects.filter(Q(caller=user) | Q(callee=user), organisation_id=user.organisation_id)


def get_call_for_user(*, user: User, call_id: object) -> Call | None:
    """The call if `user` is in it, else None (unknown and someone else's look the same)."""
    key = parse_id(call_id)
    return calls_of(user).filter(pk=key).first() if key is not None else None


def parse_id(value: object) -> uuid.UUID | None:
    """A call or leg id from a client, or None when it is not one (never an exception)."""
    if not isinstance(value, str | uuid.UUID):
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def list_active_calls(*, user: User) -> list[Call]:
    return list(calls_of(user).filter(state__in=LIVE_STATES).order_by("created_at"))


def live_leg_of(*, call: Call, user: User) -> Leg | None:
    return call.legs.filter(user=user).exclude(state=LegStatus.ENDED).order_by("-created_at").first()


def _end_message(call: Call, *, viewer_is_caller: bool) -> str:
    other = call.callee_name if viewer_is_caller else call.caller_name
    reason = call.end_reason
    if reason == EndReason.FAILED:
        return call.end_detail or "The call failed."
    if reason == EndReason.DECLINED:
        return f"{other} declined the call." if viewer_is_caller else "You declined the call."
    if reason == EndReason.NO_ANSWER:
        return f"{other} did not answer." if viewer_is_caller else f"Missed call from {other}."
    if reason == EndReason.CANCELLED:
        return "You cancelled the call." if viewer_is_caller else f"{other} hung up before you answered."
    if reason == EndReason.UNREACHABLE:
        return f"{other} is not signed in to take calls." if viewer_is_caller else f"Missed call from {other}."
    if reason == EndReason.BUSY:
        return f"{other} is busy on other calls." if viewer_is_caller else f"Missed call from {other}."
    if reason == EndReason.COMPLETED:
        return "Call ended."
    return ""


def _departure_message(call: Call, viewer: User) -> str:
    record = CallRecord.objects.filter(owner=viewer, call=call).first()
    return record.note if record is not None and record.note else "Call ended."


def describe_call(call: Call, *, viewer: User) -> dict[str, Any]:
    """The call as `viewer` sees it. Someone who left a call that goes on (transferred, parked,
    left a conference) sees it as ended for them, with how they left."""
    is_side = viewer.pk in (call.caller_id, call.callee_id)
    viewer_is_caller = call.caller_id == viewer.pk
    counterpart = (
        {"name": call.callee_name, "number": call.callee_number, "user_id": call.callee_id}
        if viewer_is_caller
        else {"name": call.caller_name, "number": call.caller_number, "user_id": call.caller_id}
    )
    ended = call.state == CallStatus.ENDED or not is_side
    leg = live_leg_of(call=call, user=viewer) if not ended else None
    if ended:
        end_message = _end_message(call, viewer_is_caller=viewer_is_caller) if is_side else ""
        end_message = end_message or _departure_message(call, viewer)
    my_party = "caller" if viewer_is_caller else "callee"
    return {
        "id": str(call.pk),
        "version": call.version,
        "direction": "outgoing" if viewer_is_caller else "incoming",
        "state": CallStatus.ENDED.value if ended else call.state,
        "end_reason": call.end_reason or None,
        "end_message": end_message if ended else "",
        "counterpart": counterpart,
        "dialled": call.dialled,
        "created_at": call.created_at.isoformat(),
        "answered_at": call.answered_at.isoformat() if call.answered_at else None,
        "ended_at": call.ended_at.isoformat() if call.ended_at else None,
        "leg_id": str(leg.pk) if leg is not None else None,
        "held_by_me": bool(call.held_by) and call.held_by == my_party and not ended,
        "on_hold": bool(call.held_by) and call.held_by != my_party and not ended and call.conference_id is None,
        "transferred_by": call.transferred_by_name or None,
        "consult_for": str(call.consult_for_id) if call.consult_for_id else None,
        "park_slot": call.park_slot or None,
        "awaiting_pin": call.is_awaiting_pin and not ended,
        "voicemail": _voicemail_kind(call) if not ended and call.callee_id is None else None,
        "conference": describe_conference(call.conference_id, viewer=viewer)
        if call.conference_id and not ended
        else None,
    }


def _voicemail_kind(call: Call) -> str | None:
    """ "deposit" (leaving a message), "menu" (a mailbox) or "greeting" (*85); None otherwise."""
    from toc.voicemail.models import VoicemailCall  # voicemail's models point at calls

    return VoicemailCall.objects.filter(call_id=call.pk).values_list("kind", flat=True).first()


def describe_conference(conference_id: uuid.UUID, *, viewer: User) -> dict[str, Any] | None:
    conference = Conference.objects.select_related("room").filter(pk=conference_id).first()
    if conference is None:
        return None
    legs = (
        Leg.objects.filter(call__conference=conference, call__state=CallStatus.ANSWERED, call__is_awaiting_pin=False)
        .exclude(state=LegStatus.ENDED)
        .select_related("user", "call")
        .order_by("created_at")
    )
    ringing = Call.objects.filter(conference=conference, state=CallStatus.RINGING).order_by("created_at")
    room = conference.room
    return {
        "id": str(conference.pk),
        "name": room.name if room is not None else "Instant conference",
        "extension": room.extension if room is not None else None,
        "can_manage": viewer.is_org_admin or conference.owner_id == viewer.pk,
        "participants": [
            {
                "leg_id": str(leg.pk),
                "user_id": leg.user_id,
                "name": leg.user.display_name,
                "number": leg.user.extension,
                "is_muted": leg.is_muted,
                "is_on_hold": _is_held_leg(leg),
                "is_you": leg.user_id == viewer.pk,
            }
            for leg in legs
        ],
        "ringing": [{"name": call.callee_name, "number": call.callee_number} for call in ringing],
    }


def _is_held_leg(leg: Leg) -> bool:
    """Whether this participant stepped out of the conference with Hold."""
    call = leg.call
    held_user = {"caller": call.caller_id, "callee": call.callee_id}.get(call.held_by)
    return held_user is not None and held_user == leg.user_id


def list_parked_calls(*, user: User) -> list[dict[str, Any]]:
    """The calls waiting in park in the user's organisation (anyone there may pick one up)."""
    if user.organisation_id is None:
        return []
    parked = (
        Call.objects.filter(organisation_id=user.organisation_id, state=CallStatus.PARKED)
        .select_related("parked_by")
        .order_by("park_slot")
    )
    return [
        {
            "slot": call.park_slot,
            "caller": {"name": call.caller_name, "number": call.caller_number},
            "parked_by": call.parked_by.display_name if call.parked_by else "",
            "ring_back_at": call.park_deadline.isoformat() if call.park_deadline else None,
        }
        for call in parked
    ]


def list_conference_rooms(*, user: User) -> list[ConferenceRoom]:
    if user.organisation_id is None:
        return []
    return list(ConferenceRoom.objects.filter(organisation_id=user.organisation_id).order_by("extension"))


def describe_room(room: ConferenceRoom, *, viewer: User) -> dict[str, Any]:
    return {
        "id": room.pk,
        "name": room.name,
        "extension": room.extension,
        "has_pin": bool(room.pin_hash),
        "owner": room.owner.display_name if room.owner_id and room.owner else None,
        "can_change_pin": viewer.is_org_admin,
    }


def list_history(*, user: User, missed_only: bool = False, limit: int = 200) -> list[CallRecord]:
    records = CallRecord.objects.filter(owner=user)
    if missed_only:
        records = records.filter(direction=HistoryDirection.MISSED)
    return list(records.order_by("-started_at", "-id")[:limit])


def count_missed_unseen(*, user: User) -> int:
    return CallRecord.objects.filter(owner=user, direction=HistoryDirection.MISSED, is_seen=False).count()


def describe_record(record: CallRecord) -> dict[str, Any]:
    duration = int((record.ended_at - record.answered_at).total_seconds()) if record.answered_at is not None else 0
    return {
        "id": record.pk,
        "call_id": str(record.call_id),
        "direction": record.direction,
        "outcome": record.outcome,
        "note": record.note,
        "counterpart": {
            "name": record.counterpart_name,
            "number": record.counterpart_number,
            "user_id": record.counterpart_user_id,
        },
        "started_at": record.started_at.isoformat(),
        "answered_at": record.answered_at.isoformat() if record.answered_at else None,
        "ended_at": record.ended_at.isoformat(),
        "duration_seconds": duration,
        "is_seen": record.is_seen,
    }
