"""What every route gets by declaration, not by code in its handler.

A route declares what it is with one of the option sets below, spread into
its decorator (``@get("/", **query(PEOPLE_AND_DATES))``), and the app-wide hooks here do
the rest for it:

- ``query(*projections)``: before the handler runs, wait until those
  projections reflect the caller's last write and ``PCEM-Min-Position``;
- ``command()``: after it answers, remember the ``PCEM-Position`` it wrote
  for the caller, so their next query on any replica waits for it; with
  ``conditional=True`` it documents ``If-Match`` (``Caller.expected_version``);
- ``command(replay=...)``: an ``Idempotency-Key`` makes the POST idempotent —
  a repeat replays the first answer (``replay`` rebuilds it from the stored
  result) without reaching the handler, a different body is a 422, a
  concurrent duplicate a 409, and the key reaches the save by context.

Handlers take one dependency, ``caller`` (who is calling, what serves them),
and list routes a second, ``paging`` (``limit``, ``cursor``, the page).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio.to_thread
import msgspec
from litestar import Request, Response
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.enums import ParamType
from litestar.openapi.spec import OpenAPIType, Operation, Parameter, Schema
from litestar.types import Scope

from pcem.aggregates.text_rules import NO_NUL
from pcem.api.pagination import Cursor, Limit, Page
from pcem.api.problems import FieldError, InvalidInputError
from pcem.api.query_parameters import refuse_repeated
from pcem.api.read_your_writes import LAST_WRITE, MAX_POSITION, ReadYourWrites
from pcem.api.versions import IF_MATCH, POSITION_HEADER, expected_version
from pcem.commands.idempotency import (
    HEADER as IDEMPOTENCY_HEADER,
)
from pcem.commands.idempotency import (
    MAX_KEY_LENGTH,
    Claim,
    IdempotencyKey,
    StoredResult,
    current_key,
)
from pcem.identity.tokens import Principal
from pcem.wiring import Container, Serving

T = TypeVar("T")
MIN_POSITION_HEADER = "PCEM-Min-Position"
IF_MATCH_HEADER = "If-Match"
_DIGITS = re.compile(r"[0-9]{1,19}")

Replay = Callable[["Caller", StoredResult], Response[Any]]


# Declarations


def query(*projections: str) -> dict[str, Any]:
    """A read of these projections: it waits for the caller's writes."""
    return {
        "opt": {"reads": projections},
        "operation_class": _with_headers(_header_doc(MIN_POSITION_HEADER, _MIN_POSITION_DOC)),
    }


def command(
    *, replay: Replay | None = None, conditional: bool = False, writes_events: bool = True
) -> dict[str, Any]:
    """A change: its position is remembered; ``replay`` makes a POST idempotent and
    ``conditional`` documents ``If-Match``. ``writes_events=False`` (a change outside
    the event store) documents no ``PCEM-Position`` and no concurrent-writer 409."""
    headers = []
    if replay is not None:
        headers.append(_header_doc(IDEMPOTENCY_HEADER, _IDEMPOTENCY_DOC))
    if conditional:
        headers.append(_header_doc(IF_MATCH_HEADER, _IF_MATCH_DOC))
    return {
        "opt": {"replay": replay, "conditional": conditional, "writes_events": writes_events},
        "operation_class": _with_headers(*headers),
    }


# What handlers receive


class Caller:
    """The authenticated caller and what a handler may use on their behalf:

    - ``serving`` for reads: every view that answers a user from the read models
      and the ledger, async on the event loop, as the user (``pcem_api``, under
      row-level security) — and the one change made that way, marking a
      notification read (the ledger's row, not an event);
    - ``services`` (the container) for commands: the event store's use cases,
      blocking, run through ``in_thread`` or a ``sync_to_thread`` handler, with
      their own reads of it (settings, ``as_of``, history: the use case checks
      the owner); and the operators' reads of every user (admin, support),
      which are not one user's.

    A plain class, not a dataclass: Litestar's signature model would otherwise
    inspect (and evaluate) the annotations of everything it holds."""

    __slots__ = ("principal", "request", "services", "serving")

    def __init__(
        self,
        principal: Principal,
        services: Container,
        serving: Serving,
        request: Request[Principal, Any, Any],
    ) -> None:
        self.principal = principal
        self.services = services
        self.serving = serving
        self.request = request

    @property
    def user_id(self) -> str:
        return self.principal.user_id

    async def in_thread(self, function: Callable[..., T], *args: Any) -> T:
        """Run blocking work (the event store) off the event loop."""
        return await anyio.to_thread.run_sync(function, *args)

    @property
    def expected_version(self) -> int | None:
        """The version ``If-Match`` names (None when absent or ``*``). An empty one names
        no tag at all: a malformed request (400), not a condition no version meets (412)."""
        value = self.request.headers.get(IF_MATCH_HEADER)
        if value is not None and not value.strip():
            raise InvalidInputError([FieldError(IF_MATCH_HEADER, IF_MATCH.words)])
        return expected_version(value)


@dataclass(frozen=True)
class Paging:
    """``limit`` and ``cursor`` of a list request: views are asked for one row more
    than a page, which tells whether another page follows."""

    limit: int
    cursor: str | None
    fetch: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fetch", self.limit + 1)

    def page(
        self,
        rows: Sequence[Any],
        cursor_of: Callable[[Any], str],
        item: Callable[[Any], T] | None = None,
    ) -> Page[T]:
        """The first ``limit`` rows (as ``item`` makes them, if given) and the cursor
        of the next page, if there is one."""
        more = len(rows) > self.limit
        shown = rows[: self.limit]
        return Page(
            items=[item(r) for r in shown] if item else list(shown),
            next_cursor=cursor_of(rows[self.limit - 1]) if more else None,
        )


def _caller(request: Request[Principal, Any, State]) -> Caller:
    state = request.app.state
    return Caller(request.user, state.container, state.serving, request)


def _paging(caller: NamedDependency[Caller], limit: Limit = 50, cursor: Cursor = None) -> Paging:
    # Depends on ``caller`` only so the two resolve one after the other: Litestar
    # resolves dependencies of one level in an anyio task group (~3 % of a page).
    del caller
    return Paging(limit, cursor)


DEPENDENCIES = {
    "caller": Provide(_caller, sync_to_thread=False),
    "paging": Provide(_paging, sync_to_thread=False),
}


# The hooks


@dataclass
class _InFlight:
    """This request's part in the conventions, for the hooks after the handler."""

    user_id: str
    read_your_writes: ReadYourWrites
    claim: Claim | None = None


_in_flight: ContextVar[_InFlight | None] = ContextVar("pcem_request_conventions", default=None)


async def before_request(request: Request[Any, Any, Any]) -> Response[Any] | None:
    if request.method == "OPTIONS":
        return _allow(request)
    refuse_repeated(request)
    opt = request.route_handler.opt
    user = request.scope.get("user")
    if not isinstance(user, Principal):  # public routes
        return None
    read_your_writes: ReadYourWrites = request.app.state.read_your_writes
    if projections := opt.get("reads"):
        minimum = parse_min_position(request.headers.get(MIN_POSITION_HEADER))
        last_write = request.scope["state"].get(LAST_WRITE)  # read with the request's count
        await read_your_writes.wait(user.user_id, minimum, projections, last_write)
        return None
    # Any other route may write: a PCEM-Position it answers is remembered, declared
    # a command or not, so forgetting the declaration cannot break read-your-writes.
    _in_flight.set(state := _InFlight(user.user_id, read_your_writes))
    replay: Replay | None = opt.get("replay")
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if replay is None or key is None:
        return None
    # The query too: an import's dry run is not the same request as the import.
    target = f"{request.url.path}?{request.url.query}" if request.url.query else request.url.path
    fingerprint = request_fingerprint(
        request.route_handler.handler_name, target, await request.body()
    )
    container: Container = request.app.state.container
    outcome = await anyio.to_thread.run_sync(
        container.idempotency.claim, user.user_id, key, fingerprint
    )
    if isinstance(outcome, StoredResult):
        return await anyio.to_thread.run_sync(replay, _caller(request), outcome)
    state.claim = outcome
    current_key.set(outcome.key)
    return None


def _allow(request: Request[Any, Any, Any]) -> Response[None]:
    """Every method of the resource. Litestar's own OPTIONS answer is made with the
    first handler registered for a path and lists only that handler's methods."""
    template = request.scope.get("path_template")
    methods = {
        method
        for route in request.app.routes
        if template in (route.path, route.path_format)  # typed parameters, or not
        for method in route.methods
    }
    return Response(None, status_code=204, headers={"Allow": ", ".join(sorted(methods))})


async def after_request(response: Response[Any]) -> Response[Any]:
    state = _in_flight.get()
    if state is None:
        return response
    await _release(state)
    if position := int(response.headers.get(POSITION_HEADER) or 0):
        await state.read_your_writes.remember(state.user_id, position)
    return response


async def after_exception(_: Exception, scope: Scope) -> None:
    state = _in_flight.get()
    if state is not None:
        await _release(state)


async def _release(state: _InFlight) -> None:
    if state.claim is not None:
        claim, state.claim = state.claim, None
        await anyio.to_thread.run_sync(claim.release)


def replay_stored(request: Request[Any, Any, Any], key: IdempotencyKey) -> Response[Any] | None:
    """The first answer for ``key``, after losing the race to save it."""
    replay: Replay | None = request.route_handler.opt.get("replay")
    container: Container = request.app.state.container
    stored = container.idempotency.stored(key)
    if replay is None or stored is None:
        return None
    return replay(_caller(request), stored)


# Parsing


def parse_min_position(value: str | None) -> int:
    if value is None:
        return 0
    # ASCII digits, as the document's integer schema says (str.isdigit() takes "²").
    if not _DIGITS.fullmatch(value.strip()) or int(value) > MAX_POSITION:
        raise InvalidInputError(
            [FieldError(MIN_POSITION_HEADER, "must be a non-negative integer event position")]
        )
    return int(value)


def request_fingerprint(operation: str | None, path: str, body: bytes) -> str:
    """A hash of what makes two requests "the same": route, path and JSON body
    (whatever its key order and spacing)."""
    try:
        canonical: Any = msgspec.json.decode(body) if body else None
    except msgspec.DecodeError:
        canonical = body.hex()
    encoded = msgspec.json.encode([operation, path, canonical], order="sorted")
    return hashlib.sha256(encoded).hexdigest()


# OpenAPI: the headers a declaration handles, documented on its operation

_MIN_POSITION_DOC = (
    "Wait (at most 5 s) until the read models reach this event position, one a command"
    " answered as `PCEM-Position`. A position no event has yet is a 400 at once."
)
_IDEMPOTENCY_DOC = "Repeat the POST safely: the same key and body replay the first answer."
_IF_MATCH_DOC = (
    'Apply only if the resource is at this version (an ETag, W/"<version>", or *).'
    " Another version, or a value that names none, is a 412; an empty one, a 400."
)


# Each as the parsing below and in versions/idempotency enforces it.
_HEADER_SCHEMAS = {
    MIN_POSITION_HEADER: Schema(type=OpenAPIType.INTEGER, minimum=0, maximum=MAX_POSITION),
    IDEMPOTENCY_HEADER: Schema(
        type=OpenAPIType.STRING, min_length=1, max_length=MAX_KEY_LENGTH, pattern=NO_NUL.pattern
    ),
    IF_MATCH_HEADER: Schema(type=OpenAPIType.STRING, pattern=IF_MATCH.pattern),
}


def _header_doc(name: str, description: str) -> Parameter:
    return Parameter(
        name=name,
        param_in=ParamType.HEADER,
        required=False,
        description=description,
        schema=_HEADER_SCHEMAS[name],
    )


def _with_headers(*headers: Parameter) -> type[Operation]:
    @dataclass  # a dataclass of its own: only then does its __init__ call __post_init__
    class DocumentedOperation(Operation):
        def __post_init__(self) -> None:
            self.parameters = [*(self.parameters or []), *headers]

    return DocumentedOperation
