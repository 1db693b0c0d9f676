"""Helpers for tests that open the event socket through the ASGI application."""

import copy
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from toc.accounts.models import User
from toc.asgi import application

TIMEOUT = 5
ORIGIN = (b"origin", b"http://127.0.0.1:8000")

Connect = Callable[..., Awaitable[WebsocketCommunicator]]


def signed_in_browser(user: User) -> Client:
    """A browser with a real session cookie of `user`."""
    browser = Client()
    browser.force_login(user)
    return browser


def cookie_header(browser: Client) -> tuple[bytes, bytes]:
    return b"cookie", f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


@pytest.fixture
def own_channel_layer(settings) -> None:
    """A channel layer instance for this test alone.

    Each test runs in its own event loop, and channels_redis keeps per-process locks that bind
    to the loop that first waits on them; a layer shared across tests can fail in the next one.
    Changing CHANNEL_LAYERS makes Channels build a new layer (and again when it is restored).
    """
    settings.CHANNEL_LAYERS = copy.deepcopy(settings.CHANNEL_LAYERS)


@pytest_asyncio.fixture
async def open_socket(own_channel_layer: None) -> AsyncIterator[Connect]:
    """Open sockets to /ws/events/; every socket still open is closed after the test."""
    sockets: list[WebsocketCommunicator] = []

    async def connect(
        *, browser: Client | None = None, token: str = "", origin: tuple[bytes, bytes] = ORIGIN
    ) -> WebsocketCommunicator:
        headers = [origin]
        if browser is not None:
            headers.append(cookie_header(browser))
        path = f"/ws/events/?token={token}" if token else "/ws/events/"
        socket = WebsocketCommunicator(application, path, headers=headers)
        sockets.append(socket)
        return socket

    yield connect
    for socket in sockets:
        await socket.disconnect(timeout=TIMEOUT)
    await get_channel_layer().wait_received()


async def connected(socket: WebsocketCommunicator) -> dict[str, Any]:
    accepted, _ = await socket.connect(timeout=TIMEOUT)
    assert accepted is True
    return await socket.receive_json_from(timeout=TIMEOUT)


async def next_presence_of(socket: WebsocketCommunicator, user: User) -> dict[str, Any]:
    """The next presence.changed event about `user`, skipping events about others."""
    while True:
        event = await socket.receive_json_from(timeout=TIMEOUT)
        if event["type"] == "presence.changed" and event["presence"]["user_id"] == user.pk:
            return event["presence"]


async def drain(socket: WebsocketCommunicator) -> None:
    while not await socket.receive_nothing(timeout=0.2):
        await socket.receive_output(timeout=TIMEOUT)
