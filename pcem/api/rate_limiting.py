"""Every ``/api/v1`` request is counted against its caller before authentication
refuses any: a flood of invalid tokens is limited per client address, a user's
requests per user (``pcem.identity.rate_limits``). Over the limit: 429
problem+json with ``Retry-After``; every counted answer carries the IETF
``RateLimit-Policy`` and ``RateLimit`` fields (draft-ietf-httpapi-ratelimit-headers).
A calendar feed's fetches (no bearer token: the URL is the credential) are counted
per client address on a limit of their own. A user's count also reads their last
write's position for read-your-writes, in the same Redis round trip.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Litestar
from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.exceptions import TooManyRequestsException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from pcem.api.auth import valid_principal
from pcem.api.read_your_writes import LAST_WRITE, position_key
from pcem.identity.rate_limits import ANONYMOUS, FEED, USER, Quota, RateLimits

_QUOTA = "pcem_rate_limit_headers"  # in the scope's state, for the answer


class RateLimitMiddleware(ASGIMiddleware):
    """Counts each request against its caller before authentication refuses any."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, exempt: tuple[str, ...], feeds: tuple[str, ...]) -> None:
        # By the request's path, as authentication excludes them (a route's own path
        # is relative to its controller's).
        pattern = re.compile("|".join(exempt))
        self._feeds = re.compile("|".join(feeds))
        self.should_bypass_for_scope = lambda scope: bool(pattern.match(scope["path"]))

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        connection: ASGIConnection[Any, Any, Any, Any] = ASGIConnection(scope)
        limits: RateLimits = connection.app.state.serving.rate_limits
        policy, caller = self._caller(connection)
        peek = (position_key(caller),) if policy == USER else ()
        quota = await limits.count(policy, caller, *peek)
        if quota is not None:
            scope["state"][_QUOTA] = quota.headers()
            if peek:
                scope["state"][LAST_WRITE] = _position(quota.peeked[0])
            if quota.exceeded:
                retry_after = {"Retry-After": str(quota.reset_seconds)}
                raise TooManyRequestsException(_refusal(quota), headers=retry_after)
        await next_app(scope, receive, send)

    def _caller(self, connection: ASGIConnection[Any, Any, Any, Any]) -> tuple[str, str]:
        """The policy the request counts under, and whom it counts for."""
        if self._feeds.match(connection.scope["path"]):
            return FEED, _address(connection.scope)
        principal = valid_principal(connection)
        if principal is not None:
            return USER, principal.user_id
        return ANONYMOUS, _address(connection.scope)


def answer_with_quota(app: Litestar) -> None:
    """Put the caller's quota on every answer they were counted for, errors included:
    those are answered outside the route's middleware, by the exception handlers."""
    app.asgi_handler = _QuotaHeaders(app.asgi_handler)


class _QuotaHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return

        async def send_with_quota(message: Message) -> None:
            if message["type"] == "http.response.start" and (
                quota := scope.get("state", {}).get(_QUOTA)
            ):
                headers = MutableScopeHeaders.from_message(message)
                for name, value in quota.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_quota)


def _address(scope: Scope) -> str:
    """The client's address: the proxy's own unless PCEM_TRUSTED_PROXIES names it
    (uvicorn then puts X-Forwarded-For's client here)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _position(value: bytes | None) -> int:
    return int(value) if value else 0


def _refusal(quota: Quota) -> str:
    who = {
        USER: "user",
        FEED: "client address fetching calendar feeds",
    }.get(quota.policy, "client address without a valid token")
    return (
        f"too many requests: at most {quota.limit} a minute for each {who}; "
        f"try again in {quota.reset_seconds} s"
    )
