"""The API's authentication: a verified bearer token becomes the request's Principal."""

from __future__ import annotations

from typing import Any

import structlog
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from pcem.identity.tokens import InvalidTokenError, Principal, TokenVerifier

__all__ = ["JWTAuthenticationMiddleware", "Principal"]


class JWTAuthenticationMiddleware(AbstractAuthenticationMiddleware):
    """Puts a :class:`Principal` on every request under ``/api/v1``."""

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        verifier: TokenVerifier = connection.app.state.verifier
        scheme, _, credentials = connection.headers.get("authorization", "").partition(" ")
        # Spaces and tabs only (RFC 6750: "Bearer" 1*SP b64token): str.strip() would also
        # drop control characters, NEL and NBSP, and take a token with those around it.
        token = credentials.strip(" \t")
        if scheme.lower() != "bearer" or not token:
            raise NotAuthorizedException("a bearer token is required")
        try:
            principal = verifier.verify(token)
        except InvalidTokenError as error:
            raise NotAuthorizedException(str(error)) from None
        structlog.contextvars.bind_contextvars(user_id=principal.user_id)  # for every log line
        return AuthenticationResult(user=principal, auth=None)  # the token is not kept
