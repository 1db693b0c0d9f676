"""A user's own account, as Online Self Care shows it: the mobile number and the signed-in
sessions (each browser or desktop app that signed in), with the live sockets of each.

Sessions live in Django's database session store; the user id is inside each session's encoded
data, so listing them decodes the unexpired ones. Signing a session out deletes it from the store
(its cookie no longer works) and then, after commit, tells its open sockets to close
(`toc.accounts.services.end_session`). A session key that is not one of the user's own sessions
is unknown: nothing changes.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from toc.accounts.models import User
from toc.accounts.services import end_session, update_preferences
from toc.presence.models import Connection


class SessionNotFoundError(LookupError):
    """The key is not a signed-in session of this user (or no longer)."""


def set_mobile_number(*, user: User, number: str) -> User:
    """Change (or with "" clear) the user's mobile number, stored as E.164.

    Raises ValidationError on "mobile_number" when it is not a phone number, or when it is
    cleared while Mobile is the user's calling device. The rules live in
    `toc.accounts.services.update_preferences`, which the Profile Wizard uses too.
    """
    return update_preferences(user=user, mobile_number=number)


@dataclass(frozen=True)
class LiveClient:
    label: str
    connected_at: datetime
    last_seen_at: datetime


DEVICE_SESSION_KEY = "toc_device"  # the browser and system of a sign-in, kept in its session


@dataclass(frozen=True)
class SignedInSession:
    key: str
    expires_at: datetime
    clients: list[LiveClient] = field(default_factory=list)
    device: str = ""  # what signed in ("Chrome on Linux"), when it was recorded

    @property
    def id(self) -> str:
        """How pages name the session: never its key, which is the session's cookie."""
        return public_id_of(self.key)

    @property
    def last_seen_at(self) -> datetime | None:
        return max((client.last_seen_at for client in self.clients), default=None)


def public_id_of(session_key: str) -> str:
    return salted_hmac("toc.accounts.profile.session", session_key, algorithm="sha256").hexdigest()[:32]


def _is_session_of(session: Session, user: User) -> bool:
    return bool(session.get_decoded().get(SESSION_KEY) == str(user.pk))


def list_sessions(*, user: User, now: datetime | None = None) -> list[SignedInSession]:
    """The user's unexpired sessions, the ones with a live client first (most recently seen
    first), then by expiry, latest first."""
    moment = now or timezone.now()
    sessions = [s for s in Session.objects.filter(expire_date__gt=moment).iterator() if _is_session_of(s, user)]
    clients: dict[str, list[LiveClient]] = {}
    connections = Connection.objects.filter(user=user, session_key__in=[s.session_key for s in sessions])
    for connection in connections.order_by("connected_at"):
        clients.setdefault(connection.session_key, []).append(
            LiveClient(connection.label, connection.connected_at, connection.last_seen_at)
        )
    found = [
        SignedInSession(
            s.session_key,
            s.expire_date,
            clients.get(s.session_key, []),
            str(s.get_decoded().get(DEVICE_SESSION_KEY, "")),
        )
        for s in sessions
    ]
    return sorted(found, key=_recent_first, reverse=True)


def _recent_first(session: SignedInSession) -> tuple[bool, datetime]:
    return (session.last_seen_at is not None, session.last_seen_at or session.expires_at)


def list_token_clients(*, user: User) -> list[LiveClient]:
    """Live clients that signed in with an API token rather than a session (the desktop app's
    socket): shown, but not signed out from here (the token is shared by the user's apps)."""
    connections = Connection.objects.filter(user=user, session_key="").order_by("connected_at")
    return [LiveClient(c.label, c.connected_at, c.last_seen_at) for c in connections]


def sign_out_session(*, user: User, session_id: str) -> str:
    """End the user's session named `session_id` (`SignedInSession.id`): its cookie stops
    working and its sockets close. Returns its key.

    Raises SessionNotFoundError (changing nothing) when it is not one of the user's live
    sessions."""
    found = next((session.key for session in list_sessions(user=user) if session.id == session_id), None)
    if found is None:
        raise SessionNotFoundError(session_id)
    session_key = found
    with transaction.atomic():
        session = Session.objects.select_for_update().filter(session_key=session_key).first()
        if session is None or session.expire_date <= timezone.now() or not _is_session_of(session, user):
            raise SessionNotFoundError(session_id)
        session.delete()
        transaction.on_commit(lambda: end_session(user=user, session_key=session_key))
    return session_key
