"""Every error leaves the API as ``application/problem+json`` (RFC 9457).

All exception-to-response mapping lives here and is registered once on the app.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import eventsourcing.persistence
import msgspec
import psycopg
import redis
import sqlalchemy.exc
import structlog
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    SerializationException,
    ValidationException,
)
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.types import ExceptionHandlersMap

from pcem.aggregates.event import (
    DateOutOfRangeError,
    EventGoneError,
    InvalidRecurrenceError,
    NaiveDateTimeError,
)
from pcem.aggregates.ownership import FieldNotUpdatableError, NotFoundError
from pcem.aggregates.person import (
    DuplicateRelationshipError,
    MetadataTooComplexError,
    MetadataTooLargeError,
    PersonDeletedError,
    RelationshipNotFoundError,
    SelfRelationshipError,
)
from pcem.aggregates.settings import InvalidSettingsError
from pcem.api.negotiation import NotAcceptableError
from pcem.api.observability import request_id_of
from pcem.api.read_your_writes import PositionBeyondHeadError, ProjectionsBehindError
from pcem.api.validation_wording import PLAIN, Where, in_words, path_of
from pcem.commands.base import ConcurrentWritesError, VersionMismatchError
from pcem.commands.idempotency import (
    HEADER as IDEMPOTENCY_HEADER,
)
from pcem.commands.idempotency import (
    IN_FLIGHT_RETRY_SECONDS,
    IdempotencyInFlightError,
    IdempotencyMismatchError,
    InvalidIdempotencyKeyError,
)
from pcem.commands.settings import AccountErasingError
from pcem.export.exports import ExportsBusyError
from pcem.notifications.inbox import NotSentYetError
from pcem.notifications.ledger import NotFailedError

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"
_NAMED_FIELD = re.compile(r"field `([^`]+)`")


class FieldError(msgspec.Struct):
    field: str
    message: str


class Problem(msgspec.Struct, omit_defaults=True, kw_only=True):
    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None
    request_id: str  # the request's X-Request-ID, so an error can be quoted to support


class InvalidInputError(Exception):
    """Input that parsed but breaks a rule; names the offending fields."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


def problem_response(
    request: Request[Any, Any, Any],
    status: int,
    detail: str,
    *,
    errors: list[FieldError] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response[Problem]:
    phrase = HTTPStatus(status).phrase
    slug = phrase.lower().replace(" ", "-").replace("'", "")
    body = Problem(
        type=f"/problems/{slug}",
        title=phrase,
        status=status,
        detail=detail,
        errors=errors,
        request_id=request_id_of(request.scope),
    )
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=dict(headers or {}))


def _validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Problem]:
    items = exc.extra if isinstance(exc.extra, list) else []
    model = _signature_model(request)
    errors = [_field_error(item, model) for item in items if isinstance(item, dict)]
    fallback = FieldError("body", in_words(exc.detail, Where("body")))
    return problem_response(request, 400, "the request is invalid", errors=errors or [fallback])


def _field_error(item: dict[str, Any], model: Any) -> FieldError:
    """Litestar names the body ``data``; msgspec names missing/unknown fields in the text."""
    key, message = str(item.get("key") or ""), str(item.get("message", ""))
    field = key
    if key in ("", "data"):
        named = _NAMED_FIELD.search(message)
        field = named.group(1) if named else "body"
    where = Where(field, path_of(key, item.get("source")), model)
    return FieldError(field=field, message=in_words(message, where))


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    headers = dict(exc.headers or {})
    if exc.status_code == 401:
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    if exc.status_code == 400:
        detail, errors = _bad_request(exc)
        return problem_response(request, 400, detail, errors=errors, headers=headers)
    detail = exc.detail if exc.status_code < 500 else HTTPStatus(exc.status_code).phrase
    if isinstance(exc, RequestEntityTooLarge):  # Litestar's own: say what the limit is
        detail = (
            f"the body is over {_in_bytes(request.route_handler.resolve_request_max_body_size())}"
        )
    return problem_response(request, exc.status_code, detail, headers=headers)


def _in_bytes(size: int | None) -> str:
    """64 KiB, 10 MiB."""
    if size is None:
        return "the limit"
    if size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)} MiB"
    return f"{size // 1024} KiB" if size % 1024 == 0 else f"{size} bytes"


def _bad_request(exc: HTTPException) -> tuple[str, list[FieldError]]:
    """A 400 Litestar raised itself: mostly a body that is not JSON."""
    if isinstance(exc.__cause__, SerializationException):
        reason = str(exc.__cause__).removeprefix("JSON is malformed: ")
        message = (
            f"is not valid JSON ({reason})" if PLAIN.fullmatch(reason) else "is not valid JSON"
        )
        return "the request body is not valid JSON", [FieldError("body", message)]
    detail = exc.detail if PLAIN.fullmatch(exc.detail) else "the request is invalid"
    return detail, [FieldError("body", detail)]


def _signature_model(request: Request[Any, Any, Any]) -> Any:
    return getattr(request.scope.get("route_handler"), "signature_model", None)


def _invalid_input(request: Request[Any, Any, Any], exc: InvalidInputError) -> Response[Problem]:
    return problem_response(request, 400, "the request is invalid", errors=exc.errors)


def status_handler(status: int, field: str | None = None) -> Any:
    """A handler answering ``status`` with the exception's message (and a field error)."""

    def handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
        errors = [FieldError(field, str(exc))] if field else None
        return problem_response(
            request, status, str(exc) if not field else "the request is invalid", errors=errors
        )

    return handler


def _invalid_settings(
    request: Request[Any, Any, Any], exc: InvalidSettingsError
) -> Response[Problem]:
    errors = [FieldError(field, message) for field, message in exc.problems]
    return problem_response(request, 400, "the request is invalid", errors=errors)


def _unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    return problem_response(request, 503, str(exc), headers={"Retry-After": "1"})


def _busy(request: Request[Any, Any, Any], exc: ExportsBusyError) -> Response[Problem]:
    """Long downloads are what it waits for: not a second, as a lagging projection."""
    return problem_response(request, 503, str(exc), headers={"Retry-After": "10"})


def _version_mismatch(
    request: Request[Any, Any, Any], exc: VersionMismatchError
) -> Response[Problem]:
    """412 with the current ETag, so the client can re-read or retry knowingly."""
    headers = {"ETag": f'W/"{exc.current_version}"'}
    return problem_response(request, 412, str(exc), headers=headers)


def _in_flight(request: Request[Any, Any, Any], exc: IdempotencyInFlightError) -> Response[Problem]:
    return problem_response(
        request, 409, str(exc), headers={"Retry-After": str(IN_FLIGHT_RETRY_SECONDS)}
    )


def _not_updatable(
    request: Request[Any, Any, Any], exc: FieldNotUpdatableError
) -> Response[Problem]:
    errors = [FieldError(field, str(exc)) for field in exc.fields]
    return problem_response(request, 400, "the request is invalid", errors=errors)


def _dependency_down(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    name = "redis" if isinstance(exc, redis.RedisError) else "database"
    log.warning("request.dependency_unavailable", dependency=name, error_type=type(exc).__name__)
    return problem_response(
        request, 503, f"the {name} is unavailable; try again shortly", headers={"Retry-After": "5"}
    )


def _nested_too_deeply(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    """msgspec refuses JSON nested about 1,000 levels deep with a RecursionError."""
    message = "is nested too deeply to read"
    return problem_response(
        request, 400, "the request is invalid", errors=[FieldError("body", message)]
    )


def unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    log.exception("request.unhandled_error", path=request.url.path, error_type=type(exc).__name__)
    return problem_response(request, 500, "an unexpected error occurred; it has been logged")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    ValidationException: _validation,
    HTTPException: _http,
    InvalidInputError: _invalid_input,
    NotFoundError: status_handler(404),
    PersonDeletedError: status_handler(404),
    RelationshipNotFoundError: status_handler(404),
    SelfRelationshipError: status_handler(400, "target_id"),
    DuplicateRelationshipError: status_handler(409),
    ConcurrentWritesError: status_handler(409),
    AccountErasingError: status_handler(409),
    VersionMismatchError: _version_mismatch,
    IdempotencyMismatchError: status_handler(422),
    IdempotencyInFlightError: _in_flight,
    InvalidIdempotencyKeyError: status_handler(400, IDEMPOTENCY_HEADER),
    PositionBeyondHeadError: status_handler(400, "PCEM-Min-Position"),
    FieldNotUpdatableError: _not_updatable,
    MetadataTooLargeError: status_handler(400, "metadata"),
    MetadataTooComplexError: status_handler(400, "metadata"),
    EventGoneError: status_handler(404),
    InvalidRecurrenceError: status_handler(400, "recurrence"),
    NaiveDateTimeError: status_handler(400, "event_date"),
    DateOutOfRangeError: status_handler(400, "event_date"),
    InvalidSettingsError: _invalid_settings,
    NotFailedError: status_handler(409),
    NotSentYetError: status_handler(409),
    NotAcceptableError: status_handler(406),
    ProjectionsBehindError: _unavailable,
    ExportsBusyError: _busy,
    sqlalchemy.exc.OperationalError: _dependency_down,
    sqlalchemy.exc.InterfaceError: _dependency_down,
    psycopg.OperationalError: _dependency_down,
    # The event store's own names for the same (eventsourcing wraps psycopg's).
    eventsourcing.persistence.OperationalError: _dependency_down,
    eventsourcing.persistence.InterfaceError: _dependency_down,
    redis.ConnectionError: _dependency_down,
    redis.TimeoutError: _dependency_down,
    RecursionError: _nested_too_deeply,
    Exception: unexpected_error,
}
