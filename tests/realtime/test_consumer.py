"""The event socket end to end through the ASGI application: authentication, live presence
events within one organisation only, heartbeats, sign-out, and going offline."""

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from rest_framework.authtoken.models import Token

from tests.sockets import TIMEOUT, Connect, connected, drain, next_presence_of, signed_in_browser
from toc.accounts import services as account_services
from toc.accounts.models import User
from toc.presence import services as presence_services
from toc.presence.models import Connection

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def test_an_anonymous_socket_is_refused(alice: User, open_socket: Connect):
    # given
    socket = await open_socket()

    # when
    accepted, code = await socket.connect(timeout=TIMEOUT)

    # then
    assert (accepted, code) == (False, 4401)
    assert await database_sync_to_async(Connection.objects.count)() == 0


async def test_a_socket_from_a_foreign_origin_is_refused(alice: User, open_socket: Connect):
    # given
    browser = await database_sync_to_async(signed_in_browser)(alice)
    socket = await open_socket(browser=browser, origin=(b"origin", b"https://evil.example"))

    # when
    accepted, _ = await socket.connect(timeout=TIMEOUT)

    # then
    assert accepted is False
    assert await database_sync_to_async(Connection.objects.count)() == 0


async def test_a_wrong_token_is_refused(alice: User, open_socket: Connect):
    # given
    socket = await open_socket(token="not-a-token")

    # when
    accepted, code = await socket.connect(timeout=TIMEOUT)

    # then
    assert (accepted, code) == (False, 4401)


async def test_an_operator_without_organisation_is_refused(db: None, open_socket: Connect):
    # given
    operator = await database_sync_to_async(User.objects.create_superuser)("operator@toc.example", "pw-operator-1")
    browser = await database_sync_to_async(signed_in_browser)(operator)
    socket = await open_socket(browser=browser)

    # when
    accepted, code = await socket.connect(timeout=TIMEOUT)

    # then
    assert (accepted, code) == (False, 4401)
    assert await database_sync_to_async(Connection.objects.count)() == 0


async def test_a_member_connects_with_a_session_and_is_online(alice: User, open_socket: Connect):
    # given
    browser = await database_sync_to_async(signed_in_browser)(alice)
    socket = await open_socket(browser=browser)

    # when
    hello = await connected(socket)

    # then
    connection = await database_sync_to_async(Connection.objects.get)()
    assert hello == {
        "type": "realtime.connected",
        "user_id": alice.pk,
        "connection_id": connection.pk,
        "heartbeat_seconds": settings.REALTIME_HEARTBEAT_SECONDS,
    }
    assert (connection.user_id, connection.session_key) == (alice.pk, browser.session.session_key)


async def test_a_member_connects_with_an_api_token(alice: User, open_socket: Connect):
    # given
    token = await database_sync_to_async(Token.objects.create)(user=alice)
    socket = await open_socket(token=token.key)

    # when
    hello = await connected(socket)

    # then
    assert (hello["type"], hello["user_id"]) == ("realtime.connected", alice.pk)


async def test_colleagues_see_a_presence_change_live_and_other_organisations_do_not(
    alice: User, bob: User, carol: User, open_socket: Connect
):
    # given
    bob_socket = await open_socket(browser=await database_sync_to_async(signed_in_browser)(bob))
    carol_socket = await open_socket(browser=await database_sync_to_async(signed_in_browser)(carol))
    alice_socket = await open_socket(browser=await database_sync_to_async(signed_in_browser)(alice))
    await connected(bob_socket)
    await connected(carol_socket)
    await connected(alice_socket)
    assert (await next_presence_of(bob_socket, alice))["status"] == "available"
    await drain(carol_socket)

    # when
    await database_sync_to_async(presence_services.set_presence)(
        user=alice, status="busy", duration="1h", custom_text="With a client"
    )

    # then
    seen_by_bob = await next_presence_of(bob_socket, alice)
    assert (seen_by_bob["status"], seen_by_bob["custom_text"], seen_by_bob["is_online"]) == (
        "busy",
        "With a client",
        True,
    )
    assert await carol_socket.receive_nothing(timeout=0.5)


async def test_ping_is_answered_with_pong_and_refreshes_the_heartbeat(alice: User, open_socket: Connect):
    # given
    socket = await open_socket(browser=await database_sync_to_async(signed_in_browser)(alice))
    await connected(socket)
    await drain(socket)
    before = (await database_sync_to_async(Connection.objects.get)()).last_seen_at

    # when
    await socket.send_json_to({"type": "ping"})

    # then
    assert await socket.receive_json_from(timeout=TIMEOUT) == {"type": "pong"}
    assert (await database_sync_to_async(Connection.objects.get)()).last_seen_at > before


async def test_anything_but_ping_gets_an_error_and_changes_nothing(alice: User, open_socket: Connect):
    # given
    socket = await open_socket(browser=await database_sync_to_async(signed_in_browser)(alice))
    await connected(socket)
    await drain(socket)

    # when
    await socket.send_json_to({"type": "presence.set", "status": "busy"})

    # then
    assert await socket.receive_json_from(timeout=TIMEOUT) == {
        "type": "realtime.error",
        "error": 'This socket accepts {"type": "ping"} and call.* messages.',
    }
    presence = await database_sync_to_async(presence_services.Presence.objects.get)(user=alice)
    assert presence.status == "available"


async def test_signing_out_closes_the_sockets_of_that_session_with_4401(alice: User, open_socket: Connect):
    # given
    browser = await database_sync_to_async(signed_in_browser)(alice)
    socket = await open_socket(browser=browser)
    await connected(socket)
    await drain(socket)

    # when
    response = await database_sync_to_async(browser.post)("/logout/")

    # then
    assert response.status_code == 302
    assert await socket.receive_json_from(timeout=TIMEOUT) == {"type": "accounts.signed_out"}
    assert await socket.receive_output(timeout=TIMEOUT) == {"type": "websocket.close", "code": 4401}


async def test_signing_out_one_session_leaves_the_others_open_and_tells_them_nothing(alice: User, open_socket: Connect):
    # given alice in a browser and in the desktop app
    browser = await database_sync_to_async(signed_in_browser)(alice)
    token = await database_sync_to_async(Token.objects.create)(user=alice)
    browser_socket = await open_socket(browser=browser)
    desktop_socket = await open_socket(token=token.key)
    await connected(browser_socket)
    await connected(desktop_socket)
    await drain(browser_socket)
    await drain(desktop_socket)

    # when
    await database_sync_to_async(browser.post)("/logout/")

    # then
    assert await browser_socket.receive_json_from(timeout=TIMEOUT) == {"type": "accounts.signed_out"}
    assert await desktop_socket.receive_nothing(timeout=0.5)
    await desktop_socket.send_json_to({"type": "ping"})
    assert await desktop_socket.receive_json_from(timeout=TIMEOUT) == {"type": "pong"}


async def test_ending_every_connection_closes_the_desktop_apps_token_socket_too(alice: User, open_socket: Connect):
    # given alice in the desktop app (a token, no session)
    token = await database_sync_to_async(Token.objects.create)(user=alice)
    desktop_socket = await open_socket(token=token.key)
    await connected(desktop_socket)
    await drain(desktop_socket)

    # when her account is disabled and every connection is ended
    await database_sync_to_async(account_services.end_all_connections)(user=alice)

    # then
    assert await desktop_socket.receive_json_from(timeout=TIMEOUT) == {"type": "accounts.signed_out"}
    assert await desktop_socket.receive_output(timeout=TIMEOUT) == {"type": "websocket.close", "code": 4401}


async def test_disconnecting_makes_the_user_offline_for_others(alice: User, bob: User, open_socket: Connect):
    # given
    bob_socket = await open_socket(browser=await database_sync_to_async(signed_in_browser)(bob))
    alice_socket = await open_socket(browser=await database_sync_to_async(signed_in_browser)(alice))
    await connected(bob_socket)
    await connected(alice_socket)
    assert (await next_presence_of(bob_socket, alice))["status"] == "available"

    # when
    await alice_socket.disconnect()

    # then
    seen_by_bob = await next_presence_of(bob_socket, alice)
    assert (seen_by_bob["status"], seen_by_bob["is_online"]) == ("offline", False)
    assert await database_sync_to_async(Connection.objects.filter(user=alice).count)() == 0


async def test_a_second_tab_keeps_the_user_online_when_the_first_closes(alice: User, bob: User, open_socket: Connect):
    # given
    bob_socket = await open_socket(browser=await database_sync_to_async(signed_in_browser)(bob))
    browser = await database_sync_to_async(signed_in_browser)(alice)
    first_tab = await open_socket(browser=browser)
    second_tab = await open_socket(browser=browser)
    await connected(bob_socket)
    await connected(first_tab)
    await connected(second_tab)
    assert (await next_presence_of(bob_socket, alice))["status"] == "available"
    await drain(bob_socket)

    # when
    await first_tab.disconnect()

    # then
    assert await bob_socket.receive_nothing(timeout=0.5)
    assert await database_sync_to_async(Connection.objects.filter(user=alice).count)() == 1


async def test_an_idle_socket_stays_open_longer_than_the_layers_blocking_wait(alice: User, open_socket: Connect):
    # given a socket that hears nothing for longer than channels_redis's 5 s blocking pop
    socket = await open_socket(browser=await database_sync_to_async(signed_in_browser)(alice))
    await connected(socket)
    await drain(socket)

    # when
    quiet = await socket.receive_nothing(timeout=6)
    await socket.send_json_to({"type": "ping"})

    # then
    assert quiet is True
    assert await socket.receive_json_from(timeout=TIMEOUT) == {"type": "pong"}
