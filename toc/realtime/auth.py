"""Socket authentication: the session cookie (browser) or `?token=` (desktop app's API token)."""

from typing import Any
from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from rest_framework.authtoken.models import Token


@database_sync_to_async
def _user_for_token(key: str) -> Any:
    token = Token.objects.select_related("user").filter(key=key).first()
    return token.user if token is not None else None


class TokenAuthMiddleware(BaseMiddleware):
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        query = parse_qs(scope.get("query_string", b"").decode())
        keys = query.get("token")
        if keys:
            user = await _user_for_token(keys[0])
            if user is not None:
                scope = dict(scope, user=user)
        return await super().__call__(scope, receive, send)


def SessionOrTokenAuthStack(inner: Any) -> Any:  # noqa: N802 - named like Channels' stacks
    return AuthMiddlewareStack(TokenAuthMiddleware(inner))
