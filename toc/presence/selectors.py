"""Reads of presence: what a user, or everyone in an organisation, looks like right now."""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from toc.accounts.models import Organisation, User
from toc.presence import state
from toc.presence.models import Connection, Presence


def value_of(presence: Presence | None) -> state.PresenceValue:
    if presence is None:
        return state.PresenceValue()
    return state.PresenceValue(state.Status(presence.status), presence.custom_text, presence.expires_at)


def describe(*, user_id: int, value: state.PresenceValue, is_online: bool, now: datetime) -> dict[str, Any]:
    """The presence of one user as clients see it (API responses and events share it)."""
    current = state.effective(value, now)
    visible = state.visible_status(value, now, is_online=is_online)
    return {
        "user_id": user_id,
        "status": visible,
        "chosen_status": current.status.value,
        "status_label": "Offline" if visible == state.OFFLINE else state.LABELS[current.status],
        "custom_text": current.custom_text,
        "expires_at": current.expires_at.isoformat() if current.expires_at else None,
        "is_online": is_online,
    }


def get_presence_for_user(*, user: User, now: datetime | None = None) -> dict[str, Any]:
    moment = now or timezone.now()
    presence = Presence.objects.filter(user=user).first()
    online = Connection.objects.filter(user=user).exists()
    return describe(user_id=user.pk, value=value_of(presence), is_online=online, now=moment)


def list_presences_for_organisation(
    *, organisation: Organisation, now: datetime | None = None
) -> dict[int, dict[str, Any]]:
    moment = now or timezone.now()
    stored = {row.user_id: row for row in Presence.objects.filter(organisation=organisation)}
    online = set(Connection.objects.filter(organisation=organisation).values_list("user_id", flat=True))
    user_ids = User.objects.filter(organisation=organisation, is_active=True).values_list("pk", flat=True)
    return {
        user_id: describe(user_id=user_id, value=value_of(stored.get(user_id)), is_online=user_id in online, now=moment)
        for user_id in user_ids
    }


def organisation_zone(organisation: Organisation) -> ZoneInfo:
    return ZoneInfo(organisation.timezone)
