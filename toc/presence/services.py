"""Writes of presence and client connections; each change reaches the organisation live.

Locks: every write that changes what others see of a user locks that user's Presence row
first (created on demand), so a connect, a disconnect and a status change of the same user
serialise, and the event sent after commit always describes the final state.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from toc.accounts.access import organisation_id_of
from toc.accounts.models import User
from toc.lib.events import send_event
from toc.presence import state
from toc.presence.models import Connection, Presence
from toc.presence.selectors import describe, organisation_zone, value_of


def _lock_presence(user: User) -> Presence:
    Presence.objects.get_or_create(user=user, defaults={"organisation_id": organisation_id_of(user)})
    return Presence.objects.select_for_update().get(user=user)


def _announce(*, user: User, presence: Presence, now: datetime) -> None:
    online = Connection.objects.filter(user_id=user.pk).exists()
    send_event(
        event_type="presence.changed",
        payload={"presence": describe(user_id=user.pk, value=value_of(presence), is_online=online, now=now)},
        organisation_id=user.organisation_id,
    )


def set_presence(
    *, user: User, status: str, duration: str, custom_text: str = "", now: datetime | None = None
) -> Presence:
    """Set the user's status (and custom text) for a duration, then Available again."""
    moment = now or timezone.now()
    if user.organisation is None:
        raise ValidationError({"status": "Only members of an organisation have a presence."})
    try:
        chosen = state.Status(status)
    except ValueError as error:
        raise ValidationError({"status": f"Unknown presence status “{status}”."}) from error
    try:
        span = state.Duration(duration)
    except ValueError as error:
        raise ValidationError({"duration": f"Unknown duration “{duration}”."}) from error
    text = custom_text.strip()
    if len(text) > state.CUSTOM_TEXT_MAX_LENGTH:
        raise ValidationError({"custom_text": f"A custom status is at most {state.CUSTOM_TEXT_MAX_LENGTH} characters."})
    plain_available = chosen is state.Status.AVAILABLE and not text
    expires_at = None if plain_available else state.expiry_for(span, moment, organisation_zone(user.organisation))
    with transaction.atomic():
        presence = _lock_presence(user)
        presence.status = chosen.value
        presence.custom_text = text
        presence.expires_at = expires_at
        presence.updated_at = moment
        presence.save()
        _announce(user=user, presence=presence, now=moment)
    return presence


def expire_presences(*, now: datetime | None = None) -> int:
    """Return every presence whose time is up to Available; returns how many changed."""
    moment = now or timezone.now()
    changed = 0
    due = Presence.objects.filter(expires_at__lte=moment).values_list("user_id", flat=True)
    for user in User.objects.filter(pk__in=list(due)).select_related("organisation"):
        with transaction.atomic():
            presence = _lock_presence(user)
            if not state.is_expired(value_of(presence), moment):
                continue
            presence.status = state.Status.AVAILABLE.value
            presence.custom_text = ""
            presence.expires_at = None
            presence.updated_at = moment
            presence.save()
            _announce(user=user, presence=presence, now=moment)
            changed += 1
    return changed


def connect_client(
    *, user: User, channel_name: str, session_key: str, label: str = "", now: datetime | None = None
) -> int:
    """Record a connected socket; its id (which Switch Device names it by)."""
    moment = now or timezone.now()
    with transaction.atomic():
        presence = _lock_presence(user)
        was_online = Connection.objects.filter(user_id=user.pk).exists()
        connection, _ = Connection.objects.update_or_create(
            channel_name=channel_name,
            defaults={
                "user": user,
                "organisation_id": organisation_id_of(user),
                "session_key": session_key,
                "label": label[:80],
                "connected_at": moment,
                "last_seen_at": moment,
            },
        )
        if not was_online:
            _announce(user=user, presence=presence, now=moment)
    return connection.pk


def disconnect_client(*, channel_name: str, now: datetime | None = None) -> None:
    moment = now or timezone.now()
    connection = Connection.objects.filter(channel_name=channel_name).select_related("user").first()
    if connection is None:
        return
    _drop_connections(user=connection.user, channel_names=[channel_name], now=moment)


def _drop_connections(*, user: User, channel_names: list[str], now: datetime) -> None:
    with transaction.atomic():
        presence = _lock_presence(user)
        deleted, _ = Connection.objects.filter(channel_name__in=channel_names).delete()
        if deleted and not Connection.objects.filter(user_id=user.pk).exists():
            _announce(user=user, presence=presence, now=now)


def touch_client(*, channel_name: str, now: datetime | None = None) -> None:
    Connection.objects.filter(channel_name=channel_name).update(last_seen_at=now or timezone.now())


def sweep_stale_connections(*, now: datetime | None = None) -> int:
    """Forget connections whose process died without saying goodbye (no heartbeat for a while)."""
    moment = now or timezone.now()
    cutoff = moment - timedelta(seconds=settings.REALTIME_STALE_AFTER_SECONDS)
    stale = list(Connection.objects.filter(last_seen_at__lt=cutoff).values_list("user_id", "channel_name"))
    by_user: dict[int, list[str]] = {}
    for user_id, channel_name in stale:
        by_user.setdefault(user_id, []).append(channel_name)
    for user in User.objects.filter(pk__in=list(by_user)):
        _drop_connections(user=user, channel_names=by_user[user.pk], now=moment)
    return len(stale)
