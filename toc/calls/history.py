"""Writes of call history: one line per participant when a call ends, seen, deleted, cleared.

Each change tells the owner's sessions (`call.history_changed`, with the missed-calls count for
the badge) after commit.
"""

from datetime import datetime

from django.db import transaction

from toc.accounts.models import User
from toc.calls import selectors, state
from toc.calls.models import Call, CallRecord, HistoryDirection
from toc.lib.events import send_event


def write_history(call: Call) -> None:
    assert call.ended_at is not None
    entries: list[tuple[int, bool, str, str, int | None]] = []
    if call.caller_id is not None:
        entries.append((call.caller_id, True, call.callee_name, call.callee_number, call.callee_id))
    if call.callee_id is not None:
        entries.append((call.callee_id, False, call.caller_name, call.caller_number, call.caller_id))
    reason = state.EndReason(call.end_reason) if call.end_reason else None
    for owner_id, is_caller, name, number, counterpart_id in entries:
        direction = state.history_direction(
            viewer_is_caller=is_caller, answered=call.answered_at is not None, end_reason=reason
        )
        CallRecord.objects.update_or_create(
            owner_id=owner_id,
            call=call,
            defaults={
                "note": "",
                "organisation_id": call.organisation_id,
                "direction": direction,
                "outcome": call.end_reason,
                "counterpart_name": name,
                "counterpart_number": number,
                "counterpart_user_id": counterpart_id,
                "started_at": call.created_at,
                "answered_at": call.answered_at,
                "ended_at": call.ended_at,
            },
        )
        announce_history(owner_id)


def record_departure(
    *, call: Call, user: User, outcome: str, note: str, at: datetime, direction: str | None = None
) -> None:
    """`user` left a call that goes on without them (transferred it, parked it, left a
    conference, or their voicemail took it: `direction` "missed"): their line of history is
    written now, against the side they leave behind."""
    is_caller = call.caller_id == user.pk
    name, number, counterpart_id = (
        (call.callee_name, call.callee_number, call.callee_id)
        if is_caller
        else (call.caller_name, call.caller_number, call.caller_id)
    )
    CallRecord.objects.update_or_create(
        owner=user,
        call=call,
        defaults={
            "organisation_id": call.organisation_id,
            "direction": direction or (HistoryDirection.OUTGOING if is_caller else HistoryDirection.INCOMING),
            "outcome": outcome,
            "note": note[:200],
            "counterpart_name": name,
            "counterpart_number": number,
            "counterpart_user_id": counterpart_id,
            "started_at": call.created_at,
            "answered_at": call.answered_at,
            "ended_at": at,
        },
    )
    announce_history(user.pk)


def announce_history(owner_id: int) -> None:
    owner = User.objects.get(pk=owner_id)
    send_event(
        event_type="call.history_changed",
        payload={"missed_unseen": selectors.count_missed_unseen(user=owner)},
        user_ids=[owner_id],
    )


def mark_missed_seen(*, user: User) -> int:
    with transaction.atomic():
        count = CallRecord.objects.filter(owner=user, direction=HistoryDirection.MISSED, is_seen=False).update(
            is_seen=True
        )
        if count:
            announce_history(user.pk)
    return count


def delete_history_record(*, user: User, record_id: int) -> bool:
    with transaction.atomic():
        deleted, _ = CallRecord.objects.filter(owner=user, pk=record_id).delete()
        if deleted:
            announce_history(user.pk)
    return bool(deleted)


def clear_history(*, user: User) -> int:
    with transaction.atomic():
        deleted, _ = CallRecord.objects.filter(owner=user).delete()
        if deleted:
            announce_history(user.pk)
    return deleted
