"""The API's authentication: a verified bearer token becomes the request's Principal."""

from __future__ import annotations

from typing import Any

import structlog
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from pcem.identity.tokens import InvalidTokenError, Principal, TokenVerifier

__all__ = ["JWTAuthenticationMiddleware", "Principal", "valid_principal"]

_VERDICT = "pcem_token_verdict"  # in the scope's state: the Principal, or why there is none


class JWTAuthenticationMiddleware(AbstractAuthenticationMiddleware):
    """Puts a :class:`Principal` on every request under ``/api/v1``."""

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        verdict = _verdict(connection)
        if isinstance(verdict, str):
            raise NotAuthorizedException(verdict)
        structlog.contextvars.bind_contextvars(user_id=verdict.user_id)  # for every log line
        return AuthenticationResult(user=verdict, auth=None)  # the token is not kept


def valid_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    """Who a valid bearer token says is calling, else None. The token is verified once
    a request: the rate limiter asks before authentication does."""
    verdict = _verdict(connection)
    return None if isinstance(verdict, str) else verdict


def _verdict(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | str:
    state = connection.scope.setdefault("state", {})
    if _VERDICT not in state:
        state[_VERDICT] = _verify(connection)
    verdict: Principal | str = state[_VERDICT]
    return verdict


def _verify(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | str:
    verifier: TokenVerifier = connection.app.state.verifier
    scheme, _, credentials = connection.headers.get("authorization", "").partition(" ")
    # Spaces and tabs only (RFC 6750: "Bearer" 1*SP b64token): str.strip() would also
    # drop control characters, NEL and NBSP, and take a token with those around it.
    token = credentials.strip(" \t")
    if scheme.lower() != "bearer" or not token:
        return "a bearer token is required"
    try:
        return verifier.verify(token)
    except InvalidTokenError as error:
        return str(error)
