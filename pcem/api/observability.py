"""Per request: an id (the caller's ``X-Request-ID`` or a new one), one log line, a metric.

Every HTTP request is logged and measured once, by route template; a request
no route takes (an unknown path, a method the path does not have, a path
parameter that does not parse) as ``unmatched``, so the labels stay bounded.

The id and, once authenticated, the user id are bound to the logging context,
so every line logged while serving the request carries them. The id is echoed
in ``X-Request-ID`` on every response, errors included. Query strings and
headers are never logged: they can hold personal data and credentials.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import secrets
import time
from typing import Any

import structlog
from litestar import Litestar
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from pcem.api.metrics import Metrics

# A client that went away before it was answered (nginx's 499): logged and measured as
# that, not as a server error (load generators stopping mid-request made "500"s).
CLIENT_CLOSED_REQUEST = 499

log = structlog.get_logger("pcem.api.requests")

HEADER = "x-request-id"
_HEADER = HEADER.encode()
UNMATCHED = "unmatched"
_ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"})


def request_id_of(scope: Scope) -> str:
    """The request's id, chosen once: the caller's if it is sane, else a new one."""
    state = scope.setdefault("state", {})
    if "request_id" not in state:
        given = _header(scope, HEADER.encode())
        state["request_id"] = given if given and _ACCEPTABLE_ID.match(given) else _new_id()
    return str(state["request_id"])


# A new id: this process's random prefix and a counter; as unique across replicas
# as a uuid4, without reading the system's random source on every request.
_PROCESS_PREFIX = secrets.token_hex(8)
_ids = itertools.count(1)


def _new_id() -> str:
    return f"{_PROCESS_PREFIX}{next(_ids):016x}"


def observe_requests(app: Litestar) -> None:
    """Put the request context around the whole app, routing included.

    Litestar runs the middleware it is given per route, after routing: a request
    routing refused (404, 405) never reached it, and was neither logged nor
    measured."""
    app.asgi_handler = RequestContextMiddleware(app.asgi_handler, app.state.metrics)


class RequestContextMiddleware:
    """Binds the request id for logging, then logs and measures the request."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # if the response never starts, the client saw a failure
        client_left = False
        request_id = request_id_of(scope)

        async def receive_and_note_disconnect() -> ReceiveMessage:
            nonlocal client_left
            message = await receive()
            client_left = client_left or message["type"] == "http.disconnect"
            return message

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # Every response says which request it answers, errors included.
                message["headers"] = [*message.get("headers", ()), (_HEADER, request_id.encode())]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id, user_id=None):
            try:  # the app answers every error itself (its exception handlers are inside)
                await self.app(scope, receive_and_note_disconnect, send_and_note_status)
            except asyncio.CancelledError:  # the server gave up on it: the client has gone
                client_left = True
                raise
            finally:
                if client_left and status == 500:  # nobody was told anything: not our failure
                    status = CLIENT_CLOSED_REQUEST
                self._record(scope, str(scope.get("method")), status, time.perf_counter() - started)

    def _record(self, scope: Scope, method: str, status: int, seconds: float) -> None:
        route = scope.get("path_template") or UNMATCHED  # set by routing, if a route took it
        method = method if method in _METHODS else "other"  # clients can send any token
        self.metrics.observe_request(route, method, status, seconds)
        log.log(
            _level_of(status),
            "http.request",
            method=method,
            route=route,
            status=status,
            duration_ms=round(seconds * 1000, 2),
        )


def _level_of(status: int) -> int:
    """5xx is an error, except 503 (a dependency down, answered with Retry-After)."""
    if status < 500 or status == CLIENT_CLOSED_REQUEST:
        return logging.INFO
    return logging.WARNING if status == 503 else logging.ERROR


def _header(scope: Scope, name: bytes) -> str | None:
    headers: Any = scope.get("headers", [])
    for key, value in headers:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None
