"""Presence as pure functions: expiries in the organisation's time zone, what others see."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from toc.presence.state import (
    OFFLINE,
    Duration,
    PresenceValue,
    Status,
    effective,
    expiry_for,
    is_expired,
    visible_status,
)

TORONTO = ZoneInfo("America/Toronto")


def toronto(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TORONTO)


# Monday 3 March 2025, 14:00 in Toronto (EST, UTC-5).
MONDAY_AFTERNOON = datetime(2025, 3, 3, 19, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("duration", "span"),
    [
        (Duration.THIRTY_MINUTES, timedelta(minutes=30)),
        (Duration.ONE_HOUR, timedelta(hours=1)),
        (Duration.TWO_HOURS, timedelta(hours=2)),
    ],
)
def test_fixed_durations_end_after_their_span(duration: Duration, span: timedelta):
    # when
    expires_at = expiry_for(duration, MONDAY_AFTERNOON, TORONTO)

    # then
    assert expires_at == MONDAY_AFTERNOON + span


def test_until_changed_never_expires():
    # when
    expires_at = expiry_for(Duration.UNTIL_CHANGED, MONDAY_AFTERNOON, TORONTO)

    # then
    assert expires_at is None


def test_today_ends_at_the_next_local_midnight():
    # when
    expires_at = expiry_for(Duration.TODAY, MONDAY_AFTERNOON, TORONTO)

    # then
    assert expires_at == toronto(2025, 3, 4)
    assert expires_at == datetime(2025, 3, 4, 5, 0, tzinfo=UTC)


def test_today_chosen_just_before_local_midnight_ends_minutes_later():
    # given 23:30 on Monday in Toronto, already Tuesday in UTC
    now = datetime(2025, 3, 4, 4, 30, tzinfo=UTC)

    # when
    expires_at = expiry_for(Duration.TODAY, now, TORONTO)

    # then
    assert expires_at == toronto(2025, 3, 4)
    assert expires_at - now == timedelta(minutes=30)


def test_today_chosen_just_after_local_midnight_lasts_the_whole_new_day():
    # given 00:30 on Tuesday in Toronto
    now = datetime(2025, 3, 4, 5, 30, tzinfo=UTC)

    # when
    expires_at = expiry_for(Duration.TODAY, now, TORONTO)

    # then
    assert expires_at == toronto(2025, 3, 5)
    assert expires_at - now == timedelta(hours=23, minutes=30)


def test_today_on_the_day_clocks_spring_forward_is_23_hours_long():
    # given 00:00 on Sunday 9 March 2025 in Toronto (EST); at 02:00 clocks jump to 03:00 EDT
    now = toronto(2025, 3, 9).astimezone(UTC)

    # when
    expires_at = expiry_for(Duration.TODAY, now, TORONTO)

    # then
    assert expires_at == datetime(2025, 3, 10, 4, 0, tzinfo=UTC)
    assert expires_at - now == timedelta(hours=23)


def test_today_on_the_day_clocks_fall_back_is_25_hours_long():
    # given 00:00 on Sunday 2 November 2025 in Toronto (EDT); at 02:00 clocks go back to 01:00 EST
    now = toronto(2025, 11, 2).astimezone(UTC)

    # when
    expires_at = expiry_for(Duration.TODAY, now, TORONTO)

    # then
    assert expires_at == datetime(2025, 11, 3, 5, 0, tzinfo=UTC)
    assert expires_at - now == timedelta(hours=25)


def test_this_week_ends_at_the_end_of_sunday():
    # given Monday 3 March; the following Monday is already in daylight time
    # when
    expires_at = expiry_for(Duration.THIS_WEEK, MONDAY_AFTERNOON, TORONTO)

    # then
    assert expires_at == toronto(2025, 3, 10)
    assert expires_at == datetime(2025, 3, 10, 4, 0, tzinfo=UTC)


def test_this_week_chosen_on_sunday_ends_that_night():
    # given Sunday 9 March, 12:00 in Toronto
    now = toronto(2025, 3, 9, 12)

    # when
    expires_at = expiry_for(Duration.THIS_WEEK, now, TORONTO)

    # then
    assert expires_at == toronto(2025, 3, 10)


def test_this_week_chosen_late_on_sunday_evening_ends_at_midnight_not_next_week():
    # given Sunday 23:59 in Toronto: already Monday in UTC
    now = datetime(2025, 3, 10, 3, 59, tzinfo=UTC)

    # when
    expires_at = expiry_for(Duration.THIS_WEEK, now, TORONTO)

    # then
    assert expires_at == toronto(2025, 3, 10)
    assert expires_at - now == timedelta(minutes=1)


def test_this_week_chosen_at_monday_midnight_lasts_the_whole_week():
    # given
    now = toronto(2025, 3, 10)

    # when
    expires_at = expiry_for(Duration.THIS_WEEK, now, TORONTO)

    # then
    assert expires_at == toronto(2025, 3, 17)


def test_the_organisations_zone_decides_when_the_day_ends():
    # given 23:30 on Monday in Toronto, which is 05:30 on Tuesday in Paris
    now = datetime(2025, 3, 4, 4, 30, tzinfo=UTC)

    # when
    in_paris = expiry_for(Duration.TODAY, now, ZoneInfo("Europe/Paris"))

    # then
    assert in_paris == datetime(2025, 3, 5, 0, 0, tzinfo=ZoneInfo("Europe/Paris"))


def test_a_chosen_status_is_in_force_until_it_expires():
    # given
    value = PresenceValue(Status.BUSY, "On a call", MONDAY_AFTERNOON + timedelta(hours=1))

    # when / then
    assert effective(value, MONDAY_AFTERNOON) == value
    assert effective(value, MONDAY_AFTERNOON + timedelta(minutes=59)) == value
    assert is_expired(value, MONDAY_AFTERNOON + timedelta(minutes=59)) is False


def test_an_expired_status_is_available_again():
    # given
    value = PresenceValue(Status.BUSY, "On a call", MONDAY_AFTERNOON + timedelta(hours=1))

    # when
    current = effective(value, MONDAY_AFTERNOON + timedelta(hours=1))

    # then
    assert current == PresenceValue(Status.AVAILABLE, "", None)
    assert is_expired(value, MONDAY_AFTERNOON + timedelta(hours=1)) is True


def test_a_status_until_changed_never_expires():
    # given
    value = PresenceValue(Status.VACATION, "", None)

    # when / then
    assert effective(value, MONDAY_AFTERNOON + timedelta(days=365)) == value
    assert is_expired(value, MONDAY_AFTERNOON + timedelta(days=365)) is False


def test_available_with_a_custom_text_keeps_the_text():
    # given
    value = PresenceValue(Status.AVAILABLE, "Working from home", toronto(2025, 3, 4))

    # when / then
    assert effective(value, MONDAY_AFTERNOON) == value


def test_plain_available_is_the_default_value():
    # when
    current = effective(PresenceValue(Status.AVAILABLE, "", toronto(2025, 3, 4)), MONDAY_AFTERNOON)

    # then
    assert current == PresenceValue()


def test_others_see_the_effective_status_of_an_online_user():
    # given
    value = PresenceValue(Status.DO_NOT_DISTURB, "", MONDAY_AFTERNOON + timedelta(hours=1))

    # when / then
    assert visible_status(value, MONDAY_AFTERNOON, is_online=True) == "do_not_disturb"
    assert visible_status(value, MONDAY_AFTERNOON + timedelta(hours=2), is_online=True) == "available"


def test_others_see_offline_without_a_connected_client_whatever_the_status():
    # given
    value = PresenceValue(Status.IN_A_MEETING, "", None)

    # when / then
    assert visible_status(value, MONDAY_AFTERNOON, is_online=False) == OFFLINE
    assert visible_status(PresenceValue(), MONDAY_AFTERNOON, is_online=False) == OFFLINE
