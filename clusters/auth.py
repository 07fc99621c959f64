"""Bearer-token authentication for the JSON API and WebSockets (`Authorization: Bearer <token>`)."""

from __future__ import annotations

from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser

from clusters.models import ApiToken


def user_for_token(token: str):
    if not token:
        return None
    api_token = ApiToken.objects.filter(digest=ApiToken.digest_of(token)).select_related("user").first()
    if api_token is None or not api_token.user.is_active:
        return None
    return api_token.user


def bearer_token(authorization: str) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class BearerTokenMiddleware:
    """Channels middleware: a socket without a session user may authenticate with a bearer token."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        user = scope.get("user")
        if user is None or not user.is_authenticated:
            headers = dict(scope.get("headers") or [])
            token = bearer_token(headers.get(b"authorization", b"").decode("latin-1"))
            if token:
                found = await database_sync_to_async(user_for_token)(token)
                scope = dict(scope, user=found or AnonymousUser())
        return await self.inner(scope, receive, send)


class OriginValidatorUnlessBearer:
    """Cookie-authenticated sockets must come from our own origin (cross-site WebSocket hijacking);
    scripts that send a bearer token and no Origin header are not browsers and may connect."""

    def __init__(self, inner):
        from channels.security.websocket import AllowedHostsOriginValidator

        self.inner = inner
        self.validated = AllowedHostsOriginValidator(inner)

    async def __call__(self, scope, receive, send):
        headers = dict(scope.get("headers") or [])
        if b"origin" not in headers and bearer_token(headers.get(b"authorization", b"").decode("latin-1")):
            return await self.inner(scope, receive, send)
        return await self.validated(scope, receive, send)
