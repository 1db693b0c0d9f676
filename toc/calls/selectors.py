"""Reads of calls and call history, always for one user; a call is what that user sees of it."""

import uuid
from typing import Any

from django.db.models import Q, QuerySet

from toc.accounts.models import User
from toc.calls.models import Call, CallRecord, CallStatus, HistoryDirection, Leg, LegStatus
from toc.calls.state import EndReason

LIVE_STATES = (CallStatus.DIALING, CallStatus.RINGING, CallStatus.ANSWERED)


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


def describe_call(call: Call, *, viewer: User) -> dict[str, Any]:
    viewer_is_caller = call.caller_id == viewer.pk
    counterpart = (
        {"name": call.callee_name, "number": call.callee_number, "user_id": call.callee_id}
        if viewer_is_caller
        else {"name": call.caller_name, "number": call.caller_number, "user_id": call.caller_id}
    )
    leg = live_leg_of(call=call, user=viewer) if call.state != CallStatus.ENDED else None
    return {
        "id": str(call.pk),
        "direction": "outgoing" if viewer_is_caller else "incoming",
        "state": call.state,
        "end_reason": call.end_reason or None,
        "end_message": _end_message(call, viewer_is_caller=viewer_is_caller) if call.state == CallStatus.ENDED else "",
        "counterpart": counterpart,
        "dialled": call.dialled,
        "created_at": call.created_at.isoformat(),
        "answered_at": call.answered_at.isoformat() if call.answered_at else None,
        "ended_at": call.ended_at.isoformat() if call.ended_at else None,
        "leg_id": str(leg.pk) if leg is not None else None,
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
