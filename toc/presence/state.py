"""Presence as pure functions over a frozen value, `now` passed in.

A user's stored presence is a status (Available, Busy, …), an optional custom text and an
optional expiry. When the expiry passes, the presence is Available again; when no client of
the user is connected, others see them as Offline whatever the stored status says. The
duration a user picks in the presence menu becomes an expiry here: fixed spans, the end of
today, or the end of this week (Sunday night), in the organisation's time zone.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class Status(StrEnum):
    AVAILABLE = "available"
    BUSY = "busy"
    DO_NOT_DISTURB = "do_not_disturb"
    IN_A_MEETING = "in_a_meeting"
    AWAY = "away"
    VACATION = "vacation"
    AT_LUNCH = "at_lunch"


OFFLINE = "offline"

LABELS = {
    Status.AVAILABLE: "Available",
    Status.BUSY: "Busy",
    Status.DO_NOT_DISTURB: "Do not Disturb",
    Status.IN_A_MEETING: "In a Meeting",
    Status.AWAY: "Away",
    Status.VACATION: "Vacation",
    Status.AT_LUNCH: "At Lunch",
}


class Duration(StrEnum):
    THIRTY_MINUTES = "30m"
    ONE_HOUR = "1h"
    TWO_HOURS = "2h"
    TODAY = "today"
    THIS_WEEK = "this_week"
    UNTIL_CHANGED = "until_changed"


DURATION_LABELS = {
    Duration.THIRTY_MINUTES: "30 minutes",
    Duration.ONE_HOUR: "1 hour",
    Duration.TWO_HOURS: "2 hours",
    Duration.TODAY: "Today",
    Duration.THIS_WEEK: "This week",
    Duration.UNTIL_CHANGED: "Until I change it",
}

FIXED_SPANS = {
    Duration.THIRTY_MINUTES: timedelta(minutes=30),
    Duration.ONE_HOUR: timedelta(hours=1),
    Duration.TWO_HOURS: timedelta(hours=2),
}

CUSTOM_TEXT_MAX_LENGTH = 80


@dataclass(frozen=True)
class PresenceValue:
    status: Status = Status.AVAILABLE
    custom_text: str = ""
    expires_at: datetime | None = None


def expiry_for(duration: Duration, now: datetime, zone: ZoneInfo) -> datetime | None:
    """When a presence chosen at `now` for `duration` ends (None: until changed)."""
    if duration in FIXED_SPANS:
        return now + FIXED_SPANS[duration]
    if duration is Duration.UNTIL_CHANGED:
        return None
    local = now.astimezone(zone)
    days = 1 if duration is Duration.TODAY else 7 - local.weekday()
    end_date = local.date() + timedelta(days=days)
    return datetime.combine(end_date, time.min, tzinfo=zone)


def effective(value: PresenceValue, now: datetime) -> PresenceValue:
    """The presence in force at `now`: an expired choice is Available again."""
    if value.expires_at is not None and value.expires_at <= now:
        return PresenceValue()
    if value.status is Status.AVAILABLE and not value.custom_text:
        return PresenceValue()
    return value


def is_expired(value: PresenceValue, now: datetime) -> bool:
    return value.expires_at is not None and value.expires_at <= now


def visible_status(value: PresenceValue, now: datetime, *, is_online: bool) -> str:
    """What others see: Offline without a connected client, else the effective status."""
    return effective(value, now).status.value if is_online else OFFLINE
