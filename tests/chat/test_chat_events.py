"""Chat's live events through the real event socket: every member's sockets get a message,
others never do; a member added later starts receiving on the socket they already have, a
removed one stops at once; read marks and typing reach the right people."""

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from tests.chat.conftest import plain
from tests.sockets import TIMEOUT, Connect, connected, drain, signed_in_browser
from toc.accounts.models import User
from toc.chat import selectors, services
from toc.chat.events import conversation_group
from toc.lib.events import user_group
from toc.presence.models import Connection

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def socket_of(open_socket: Connect, user: User) -> WebsocketCommunicator:
    browser = await database_sync_to_async(signed_in_browser)(user)
    socket = await open_socket(browser=browser)
    await connected(socket)
    await drain(socket)
    return socket


async def next_chat_event(socket: WebsocketCommunicator) -> dict[str, Any]:
    """The next chat.* event, skipping presence news."""
    while True:
        event = await socket.receive_json_from(timeout=TIMEOUT)
        if str(event["type"]).startswith("chat."):
            return event


async def no_chat_event(socket: WebsocketCommunicator) -> bool:
    while not await socket.receive_nothing(timeout=0.3):
        event = await socket.receive_json_from(timeout=TIMEOUT)
        if str(event["type"]).startswith("chat."):
            return False
    return True


async def message_texts_until(socket: WebsocketCommunicator, text: str) -> bool:
    """Read chat events until a message with `text` arrives (False if another chat event
    type than conversation_changed or message_sent turns up first)."""
    while True:
        event = await next_chat_event(socket)
        if event["type"] not in ("chat.conversation_changed", "chat.message_sent"):
            return False
        if event["type"] == "chat.message_sent" and event["message"]["envelope"] == plain(text):
            return True


send_message = database_sync_to_async(services.send_message)


async def test_a_message_reaches_every_members_sockets_and_nobody_else(
    alice: User, bob: User, dave: User, carol: User, open_socket: Connect
) -> None:
    # given
    conversation, _ = await database_sync_to_async(services.open_direct_chat)(user=alice, other_user_id=bob.pk)
    bob_desk, bob_laptop = await socket_of(open_socket, bob), await socket_of(open_socket, bob)
    dave_socket, carol_socket = await socket_of(open_socket, dave), await socket_of(open_socket, carol)

    # when
    message, _ = await send_message(user=alice, conversation_id=conversation.pk, envelope=plain("hi Bob"))

    # then
    for socket in (bob_desk, bob_laptop):
        event = await next_chat_event(socket)
        assert (event["type"], event["conversation_id"], event["message"]["id"]) == (
            "chat.message_sent",
            str(conversation.pk),
            str(message.pk),
        )
        assert event["message"]["envelope"] == plain("hi Bob")
    assert await no_chat_event(dave_socket)
    assert await no_chat_event(carol_socket)


async def test_added_members_start_and_removed_members_stop_receiving_on_open_sockets(
    alice: User, bob: User, dave: User, open_socket: Connect
) -> None:
    # given
    group = await database_sync_to_async(services.create_group)(user=alice, name="Ops", member_ids=[bob.pk])
    dave_socket, bob_socket = await socket_of(open_socket, dave), await socket_of(open_socket, bob)

    # when dave is added on the socket he already has
    await database_sync_to_async(services.add_members)(user=alice, conversation_id=group.pk, user_ids=[dave.pk])

    # then his socket hears it, and from then on gets the group's messages
    joined = await next_chat_event(dave_socket)
    assert (joined["type"], joined["conversation_id"]) == ("chat.conversation_changed", str(group.pk))
    await send_message(user=alice, conversation_id=group.pk, envelope=plain("welcome dave"))
    assert await message_texts_until(dave_socket, "welcome dave")
    await drain(bob_socket)

    # when bob is removed, then a message follows at once
    await database_sync_to_async(services.remove_member)(user=alice, conversation_id=group.pk, member_id=bob.pk)
    await send_message(user=alice, conversation_id=group.pk, envelope=plain("bob is gone"))

    # then bob hears he was removed, and nothing after it
    removed = await next_chat_event(bob_socket)
    assert (removed["type"], removed["conversation_id"]) == ("chat.conversation_removed", str(group.pk))
    assert await no_chat_event(bob_socket)
    assert await message_texts_until(dave_socket, "bob is gone")


async def test_read_marks_reach_my_other_devices_and_typing_the_others(
    alice: User, bob: User, open_socket: Connect
) -> None:
    # given
    conversation, _ = await database_sync_to_async(services.open_direct_chat)(user=alice, other_user_id=bob.pk)
    await send_message(user=alice, conversation_id=conversation.pk, envelope=plain("one"))
    await send_message(user=alice, conversation_id=conversation.pk, envelope=plain("two"))
    bob_phone, alice_socket = await socket_of(open_socket, bob), await socket_of(open_socket, alice)

    # when
    await database_sync_to_async(services.mark_read)(user=bob, conversation_id=conversation.pk, sequence=1)
    await database_sync_to_async(services.send_typing)(user=bob, conversation_id=conversation.pk)

    # then
    read = await next_chat_event(bob_phone)
    assert read == {
        "type": "chat.read_changed",
        "conversation_id": str(conversation.pk),
        "last_read_sequence": 1,
        "unread_count": 1,
        "unread_total": 1,
    }
    typing = await next_chat_event(alice_socket)
    assert typing == {
        "type": "chat.typing",
        "conversation_id": str(conversation.pk),
        "user_id": bob.pk,
        "name": "Bob Tester",
    }
    assert await database_sync_to_async(selectors.unread_counts)(user=bob) == {conversation.pk: 1}


async def test_a_long_open_socket_rejoins_groups_the_channel_layer_forgot(
    alice: User, bob: User, open_socket: Connect, settings
) -> None:
    # given bob's socket, whose chat group membership the channel layer has expired
    settings.REALTIME_GROUP_REFRESH_SECONDS = 0
    conversation, _ = await database_sync_to_async(services.open_direct_chat)(user=alice, other_user_id=bob.pk)
    bob_socket = await socket_of(open_socket, bob)
    channel_name = await database_sync_to_async(lambda: Connection.objects.get(user=bob).channel_name)()
    await get_channel_layer().group_discard(conversation_group(conversation.pk), channel_name)

    # when its next heartbeat comes
    await bob_socket.send_json_to({"type": "ping"})
    assert (await bob_socket.receive_json_from(timeout=TIMEOUT)) == {"type": "pong"}
    await send_message(user=alice, conversation_id=conversation.pk, envelope=plain("still there?"))

    # then
    assert await message_texts_until(bob_socket, "still there?")


async def test_a_joined_event_that_arrives_after_the_removal_does_not_let_the_socket_back_in(
    alice: User, bob: User, open_socket: Connect
) -> None:
    # given bob removed from a group, his socket told so
    group = await database_sync_to_async(services.create_group)(user=alice, name="Ops", member_ids=[bob.pk])
    bob_socket = await socket_of(open_socket, bob)
    await database_sync_to_async(services.remove_member)(user=alice, conversation_id=group.pk, member_id=bob.pk)
    assert (await next_chat_event(bob_socket))["type"] == "chat.conversation_removed"

    # when the "joined" of his adding, crossed in transit, arrives late
    await get_channel_layer().group_send(
        user_group(bob.pk),
        {
            "type": "event.message",
            "event": {"type": "chat.conversation_changed", "conversation_id": str(group.pk), "joined": True},
        },
    )
    await send_message(user=alice, conversation_id=group.pk, envelope=plain("members only"))

    # then
    assert await no_chat_event(bob_socket)
