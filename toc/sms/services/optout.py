"""Opt-out: a recipient's STOP (or UNSUBSCRIBE, CANCEL, END, QUIT…) to one of our numbers stops
every text from that number to them until they send START."""

from toc.sms import events
from toc.sms.models import OptOut, Thread

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"})
START_WORDS = frozenset({"START", "UNSTOP", "YES"})


def keyword_choice(body: str) -> bool | None:
    """True for an opt-out keyword, False for an opt-in one, None for any other text."""
    word = body.strip().upper()
    if word in STOP_WORDS:
        return True
    if word in START_WORDS:
        return False
    return None


def record_opt_out(*, thread: Thread, opted_out: bool) -> bool:
    """Record that the thread's outside number opted out (or back in). Returns whether it changed."""
    rows = OptOut.objects.filter(local_number=thread.local_number, remote_number=thread.remote_number)
    if opted_out:
        _, changed = OptOut.objects.get_or_create(
            local_number=thread.local_number,
            remote_number=thread.remote_number,
            defaults={"organisation_id": thread.organisation_id},
        )
    else:
        changed = rows.delete()[0] > 0
    if changed:
        events.thread_changed(user=thread.user, thread=thread)
    return changed
