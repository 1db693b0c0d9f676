"""ICE servers for browsers, with time-limited TURN credentials (coturn's REST secret scheme).

coturn with `use-auth-secret` and `static-auth-secret=TURN_SECRET` accepts the username
`<expiry unix time>:<user id>` with the password base64(HMAC-SHA1(secret, username)) until
the expiry, so a credential handed to a signed-in user stops working by itself.
"""

import base64
import hashlib
import hmac
from datetime import datetime
from typing import Any

from django.conf import settings


def turn_credentials(*, user_id: int, now: datetime) -> tuple[str, str]:
    expiry = int(now.timestamp()) + settings.TURN_CREDENTIAL_SECONDS
    username = f"{expiry}:{user_id}"
    digest = hmac.new(settings.TURN_SECRET.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers_for(*, user_id: int, now: datetime) -> list[dict[str, Any]]:
    servers: list[dict[str, Any]] = []
    stun = [url for url in settings.ICE_SERVERS if url.startswith(("stun:", "stuns:"))]
    turn = [url for url in settings.ICE_SERVERS if url.startswith(("turn:", "turns:"))]
    if stun:
        servers.append({"urls": stun})
    if turn and settings.TURN_SECRET:
        username, credential = turn_credentials(user_id=user_id, now=now)
        servers.append({"urls": turn, "username": username, "credential": credential})
    return servers
