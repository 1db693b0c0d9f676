"""Presence writes: setting a status, expiries, connections, and the events they send."""

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.exceptions import ValidationError

from tests.factories import PASSWORD
from toc.accounts.models import Organisation, User
from toc.lib.events import organisation_group
from toc.presence import services
from toc.presence.models import Connection, Presence
from toc.presence.selectors import get_presence_for_user

# Monday 3 March 2025, 14:00 in Toronto.
NOW = datetime(2025, 3, 3, 19, 0, tzinfo=UTC)


class GroupListener:
    """A channel of the test's own in one group of the real channel layer."""

    def __init__(self, group: str) -> None:
        self.layer: Any = get_channel_layer()
        self.group = group
        self.channel = f"test-listener.{uuid.uuid4().hex}"
        async_to_sync(self.layer.group_add)(group, self.channel)

    def receive(self, *, timeout: float = 2.0) -> dict[str, Any]:
        async def first_message() -> dict[str, Any]:
            return await asyncio.wait_for(self.layer.receive(self.channel), timeout)

        return async_to_sync(first_message)()

    def receive_nothing(self, *, timeout: float = 0.3) -> bool:
        try:
            self.receive(timeout=timeout)
        except TimeoutError:
            return True
        return False

    def close(self) -> None:
        async_to_sync(self.layer.group_discard)(self.group, self.channel)


@pytest.fixture
def listen() -> Iterator[Any]:
    listeners: list[GroupListener] = []

    def start(group: str) -> GroupListener:
        listener = GroupListener(group)
        listeners.append(listener)
        return listener

    yield start
    for listener in listeners:
        listener.close()


def stored(user: User) -> tuple[str, str, datetime | None]:
    presence = Presence.objects.get(user=user)
    return presence.status, presence.custom_text, presence.expires_at


# set_presence


def test_set_presence_stores_the_status_text_and_expiry(alice: User):
    # when
    services.set_presence(user=alice, status="busy", duration="1h", custom_text="  On a call  ", now=NOW)

    # then
    assert stored(alice) == ("busy", "On a call", NOW + timedelta(hours=1))
    assert Presence.objects.get(user=alice).organisation_id == alice.organisation_id


def test_set_presence_for_today_ends_at_midnight_in_the_organisations_zone(alice: User):
    # when
    services.set_presence(user=alice, status="away", duration="today", now=NOW)

    # then
    assert stored(alice) == ("away", "", datetime(2025, 3, 4, 5, 0, tzinfo=UTC))


def test_plain_available_has_no_expiry(alice: User):
    # given
    services.set_presence(user=alice, status="busy", duration="1h", now=NOW)

    # when
    services.set_presence(user=alice, status="available", duration="30m", now=NOW)

    # then
    assert stored(alice) == ("available", "", None)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"status": "sleeping", "duration": "1h"}, {"status": ["Unknown presence status “sleeping”."]}),
        ({"status": "offline", "duration": "1h"}, {"status": ["Unknown presence status “offline”."]}),
        ({"status": "busy", "duration": "forever"}, {"duration": ["Unknown duration “forever”."]}),
        (
            {"status": "busy", "duration": "1h", "custom_text": "x" * 81},
            {"custom_text": ["A custom status is at most 80 characters."]},
        ),
    ],
)
def test_set_presence_refuses_what_it_does_not_know_and_changes_nothing(
    alice: User, fields: dict[str, str], message: dict[str, list[str]]
):
    # given
    services.set_presence(user=alice, status="in_a_meeting", duration="2h", now=NOW)

    # when
    with pytest.raises(ValidationError) as error:
        services.set_presence(user=alice, now=NOW + timedelta(minutes=5), **fields)

    # then
    assert error.value.message_dict == message
    assert stored(alice) == ("in_a_meeting", "", NOW + timedelta(hours=2))


def test_an_operator_without_organisation_has_no_presence(db: None):
    # given
    operator = User.objects.create_superuser("operator@toc.example", PASSWORD)

    # when
    with pytest.raises(ValidationError) as error:
        services.set_presence(user=operator, status="busy", duration="1h", now=NOW)

    # then
    assert error.value.message_dict == {"status": ["Only members of an organisation have a presence."]}
    assert Presence.objects.count() == 0


# expire_presences


def test_expire_presences_returns_due_presences_to_available(alice: User, bob: User):
    # given
    services.set_presence(user=alice, status="busy", duration="30m", custom_text="Lunch call", now=NOW)
    services.set_presence(user=bob, status="away", duration="2h", now=NOW)

    # when
    changed = services.expire_presences(now=NOW + timedelta(minutes=30))

    # then
    assert changed == 1
    assert stored(alice) == ("available", "", None)
    assert stored(bob) == ("away", "", NOW + timedelta(hours=2))


def test_expire_presences_twice_changes_nothing_the_second_time(alice: User):
    # given
    services.set_presence(user=alice, status="busy", duration="30m", now=NOW)
    services.expire_presences(now=NOW + timedelta(hours=1))

    # when
    changed = services.expire_presences(now=NOW + timedelta(hours=1))

    # then
    assert changed == 0
    assert stored(alice) == ("available", "", None)


def test_expire_presences_leaves_until_changed_alone(alice: User):
    # given
    services.set_presence(user=alice, status="vacation", duration="until_changed", now=NOW)

    # when
    changed = services.expire_presences(now=NOW + timedelta(days=30))

    # then
    assert changed == 0
    assert stored(alice) == ("vacation", "", None)


# connections


def test_connecting_makes_a_user_online_and_the_last_disconnect_offline(alice: User):
    # given
    services.set_presence(user=alice, status="busy", duration="until_changed", now=NOW)

    # when
    services.connect_client(user=alice, channel_name="tab-1", session_key="s1", now=NOW)
    services.connect_client(user=alice, channel_name="tab-2", session_key="s1", now=NOW)
    online = get_presence_for_user(user=alice, now=NOW)
    services.disconnect_client(channel_name="tab-1", now=NOW)
    still_online = get_presence_for_user(user=alice, now=NOW)
    services.disconnect_client(channel_name="tab-2", now=NOW)
    offline = get_presence_for_user(user=alice, now=NOW)

    # then
    assert (online["status"], online["is_online"]) == ("busy", True)
    assert (still_online["status"], still_online["is_online"]) == ("busy", True)
    assert offline == {
        "user_id": alice.pk,
        "status": "offline",
        "chosen_status": "busy",
        "status_label": "Offline",
        "custom_text": "",
        "expires_at": None,
        "is_online": False,
    }
    assert Connection.objects.count() == 0


def test_a_user_who_never_connected_is_offline(alice: User):
    # when
    presence = get_presence_for_user(user=alice, now=NOW)

    # then
    assert (presence["status"], presence["chosen_status"], presence["is_online"]) == ("offline", "available", False)


def test_disconnecting_an_unknown_channel_does_nothing(alice: User):
    # given
    services.connect_client(user=alice, channel_name="tab-1", session_key="s1", now=NOW)

    # when
    services.disconnect_client(channel_name="never-connected", now=NOW)

    # then
    assert list(Connection.objects.values_list("channel_name", flat=True)) == ["tab-1"]


def test_sweep_forgets_connections_without_a_recent_heartbeat(alice: User, bob: User, settings):
    # given
    stale_after = timedelta(seconds=settings.REALTIME_STALE_AFTER_SECONDS)
    services.connect_client(user=alice, channel_name="alice-tab", session_key="a", now=NOW)
    services.connect_client(user=bob, channel_name="bob-tab", session_key="b", now=NOW)
    services.touch_client(channel_name="bob-tab", now=NOW + stale_after)

    # when
    swept = services.sweep_stale_connections(now=NOW + stale_after + timedelta(seconds=1))

    # then
    assert swept == 1
    assert list(Connection.objects.values_list("channel_name", flat=True)) == ["bob-tab"]
    assert get_presence_for_user(user=alice, now=NOW)["is_online"] is False
    assert get_presence_for_user(user=bob, now=NOW)["is_online"] is True


# events


def test_a_presence_change_reaches_the_organisation_and_no_other(
    acme: Organisation, globex: Organisation, alice: User, carol: User, listen, django_capture_on_commit_callbacks
):
    # given
    acme_group = listen(organisation_group(acme.pk))
    globex_group = listen(organisation_group(globex.pk))
    services.connect_client(user=alice, channel_name="alice-tab", session_key="a", now=NOW)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        services.set_presence(user=alice, status="do_not_disturb", duration="1h", custom_text="Focus", now=NOW)

    # then
    event = {
        "type": "presence.changed",
        "presence": {
            "user_id": alice.pk,
            "status": "do_not_disturb",
            "chosen_status": "do_not_disturb",
            "status_label": "Do not Disturb",
            "custom_text": "Focus",
            "expires_at": "2025-03-03T20:00:00+00:00",
            "is_online": True,
        },
    }
    assert acme_group.receive() == {"type": "event.message", "event": event, "text": json.dumps(event)}
    assert globex_group.receive_nothing()


def test_no_event_leaves_before_the_transaction_commits(
    acme: Organisation, alice: User, listen, django_capture_on_commit_callbacks
):
    # given
    acme_group = listen(organisation_group(acme.pk))

    # when
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.set_presence(user=alice, status="busy", duration="1h", now=NOW)

    # then
    assert len(callbacks) == 1
    assert acme_group.receive_nothing()


def test_a_refused_change_sends_no_event(acme: Organisation, alice: User, listen, django_capture_on_commit_callbacks):
    # given
    acme_group = listen(organisation_group(acme.pk))

    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(ValidationError):
        services.set_presence(user=alice, status="sleeping", duration="1h", now=NOW)

    # then
    assert callbacks == []
    assert acme_group.receive_nothing()


def test_connect_and_last_disconnect_announce_online_and_offline(
    acme: Organisation, globex: Organisation, alice: User, carol: User, listen, django_capture_on_commit_callbacks
):
    # given
    acme_group = listen(organisation_group(acme.pk))
    globex_group = listen(organisation_group(globex.pk))

    # when
    with django_capture_on_commit_callbacks(execute=True):
        services.connect_client(user=alice, channel_name="tab-1", session_key="a", now=NOW)
    online = acme_group.receive()
    with django_capture_on_commit_callbacks(execute=True) as second_tab:
        services.connect_client(user=alice, channel_name="tab-2", session_key="a", now=NOW)
        services.disconnect_client(channel_name="tab-1", now=NOW)
    with django_capture_on_commit_callbacks(execute=True):
        services.disconnect_client(channel_name="tab-2", now=NOW)
    offline = acme_group.receive()

    # then
    assert online["event"]["type"] == "presence.changed"
    assert (online["event"]["presence"]["user_id"], online["event"]["presence"]["status"]) == (alice.pk, "available")
    assert second_tab == []
    assert (offline["event"]["presence"]["user_id"], offline["event"]["presence"]["status"]) == (alice.pk, "offline")
    assert acme_group.receive_nothing()
    assert globex_group.receive_nothing()


def test_expiry_announces_available_again(acme: Organisation, alice: User, listen, django_capture_on_commit_callbacks):
    # given
    services.connect_client(user=alice, channel_name="tab-1", session_key="a", now=NOW)
    services.set_presence(user=alice, status="busy", duration="30m", now=NOW)
    acme_group = listen(organisation_group(acme.pk))

    # when
    with django_capture_on_commit_callbacks(execute=True):
        services.expire_presences(now=NOW + timedelta(minutes=30))

    # then
    event = acme_group.receive()["event"]
    assert (event["type"], event["presence"]["user_id"], event["presence"]["status"]) == (
        "presence.changed",
        alice.pk,
        "available",
    )
