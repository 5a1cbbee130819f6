"""Every error leaves the API as ``application/problem+json`` (RFC 9457).

All exception-to-response mapping lives here and is registered once on the app.
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from http import HTTPStatus
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import eventsourcing.persistence
import msgspec
import psycopg
import redis
import sqlalchemy.exc
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.types import ExceptionHandlersMap

from pcem.aggregates.event import (
    DateOutOfRangeError,
    EventGoneError,
    InvalidRecurrenceError,
    NaiveDateTimeError,
)
from pcem.aggregates.ownership import FieldNotUpdatableError
from pcem.aggregates.person import (
    DuplicateRelationshipError,
    MetadataTooComplexError,
    MetadataTooLargeError,
    PersonDeletedError,
    RelationshipNotFoundError,
    SelfRelationshipError,
)
from pcem.aggregates.settings import InvalidSettingsError
from pcem.aggregates.text_rules import TEXT_RULES
from pcem.api.observability import request_id_of
from pcem.api.versions import IF_MATCH_PATTERN
from pcem.commands.base import ConcurrentWritesError, NotFoundError, VersionMismatchError
from pcem.commands.idempotency import (
    HEADER as IDEMPOTENCY_HEADER,
)
from pcem.commands.idempotency import (
    IN_FLIGHT_RETRY_SECONDS,
    IdempotencyInFlightError,
    IdempotencyMismatchError,
    InvalidIdempotencyKeyError,
)
from pcem.notifications.ledger import NotFailedError
from pcem.projections.consistency import PositionBeyondHeadError, ProjectionsBehindError

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
    fallback = FieldError("body", _in_words(exc.detail, _Where("body")))
    return problem_response(request, 400, "the request is invalid", errors=errors or [fallback])


def _field_error(item: dict[str, Any], model: Any) -> FieldError:
    """Litestar names the body ``data``; msgspec names missing/unknown fields in the text."""
    key, message = str(item.get("key") or ""), str(item.get("message", ""))
    field = key
    if key in ("", "data"):
        named = _NAMED_FIELD.search(message)
        field = named.group(1) if named else "body"
    where = _Where(field, _path_of(key, item.get("source")), model)
    return FieldError(field=field, message=_in_words(message, where))


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    headers = dict(exc.headers or {})
    if exc.status_code == 401:
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    if exc.status_code == 400:
        detail, errors = _bad_request(exc)
        return problem_response(request, 400, detail, errors=errors, headers=headers)
    detail = exc.detail if exc.status_code < 500 else HTTPStatus(exc.status_code).phrase
    return problem_response(request, exc.status_code, detail, headers=headers)


def _bad_request(exc: HTTPException) -> tuple[str, list[FieldError]]:
    """A 400 Litestar raised itself: mostly a body that is not JSON."""
    if isinstance(exc.__cause__, SerializationException):
        reason = str(exc.__cause__).removeprefix("JSON is malformed: ")
        message = (
            f"is not valid JSON ({reason})" if _PLAIN.fullmatch(reason) else "is not valid JSON"
        )
        return "the request body is not valid JSON", [FieldError("body", message)]
    detail = exc.detail if _PLAIN.fullmatch(exc.detail) else "the request is invalid"
    return detail, [FieldError("body", detail)]


# Validation messages in words. msgspec and Litestar describe a bad value in
# their own terms (a regex, a type name, a Python repr); a client is told what
# is wrong and what is allowed instead, whatever the route.

PATTERN_WORDS = {
    **{rule.pattern: rule.words for rule in TEXT_RULES},
    IF_MATCH_PATTERN: 'must be * or an ETag such as W/"3"',  # documented; a mismatch is a 412
}
"""What each pattern of the API's schemas means; msgspec quotes a pattern as its repr."""
_WORDS_BY_REPR = {repr(pattern): words for pattern, words in PATTERN_WORDS.items()}
_TYPE_WORDS = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "null": "null",
    "object": "a JSON object",
    "array": "a JSON array",
    "uuid": "a UUID",
    "datetime": "an RFC 3339 date-time",
    "date": "a date (YYYY-MM-DD)",
    "time": "a time (HH:MM:SS)",
}
_FORMAT_WORDS = {
    "UUID": "must be a UUID such as 3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "RFC3339 encoded datetime": "must be an RFC 3339 date-time such as 2025-01-31T09:00:00Z",
    "RFC3339 encoded date": "must be a date such as 2025-01-31",
    "RFC3339 encoded time": "must be a time such as 09:00:00",
}
_BOUND_WORDS = {">=": "at least", "<=": "at most", ">": "greater than", "<": "less than"}
_UNIT_WORDS = {"str": ("character", "characters"), "object": ("entry", "entries")}
_PLAIN = re.compile(r"[\w ,.;:()+/-]*")  # no quotes, backticks or regex syntax
_STEP = re.compile(r"\[\d+\]|[^.\[\]]+")  # "channels[0].type" -> channels, [0], type


@dataclass(frozen=True, slots=True)
class _Where:
    """What a message is about: the field it is reported on, and the path from the
    route's signature model (its body under ``data``) to the value."""

    field: str
    path: tuple[str, ...] = ()
    model: Any = None

    @property
    def in_body(self) -> bool:
        return self.path[:1] == ("data",)


def _path_of(key: str, source: Any) -> tuple[str, ...]:
    steps = tuple(_STEP.findall(key))
    if source == "body" and steps[:1] != ("data",):
        return ("data", *steps)
    return steps


def _signature_model(request: Request[Any, Any, Any]) -> Any:
    return getattr(request.scope.get("route_handler"), "signature_model", None)


def _in_words(message: str, where: _Where) -> str:
    for pattern, words in _RULES:
        if match := pattern.fullmatch(message):
            return words(match, where)
    return message if _PLAIN.fullmatch(message) else "is not a valid value"


def _regex_words(match: re.Match[str], _: _Where) -> str:
    return _WORDS_BY_REPR.get(match["regex"], "is not in the expected format")


def _length_words(match: re.Match[str], _: _Where) -> str:
    one, many = _UNIT_WORDS.get(match["type"], ("item", "items"))
    return (
        f"must have {_BOUND_WORDS[match['op']]} {match['n']} {one if match['n'] == '1' else many}"
    )


def _bound_words(match: re.Match[str], _: _Where) -> str:
    return f"must be {_BOUND_WORDS[match['op']]} {match['n']}"


def _type_words(match: re.Match[str], where: _Where) -> str:
    wanted = _types_in_words(match["wanted"])
    if not where.in_body:  # query, path and header values all arrive as strings
        return f"must be {wanted}"
    return f"must be {wanted}, not {_types_in_words(match['got'])}"


def _types_in_words(names: str) -> str:
    return " or ".join(_TYPE_WORDS.get(name, "another type") for name in names.split(" | "))


def _choice_words(_: re.Match[str], where: _Where) -> str:
    choices = _choices(_types_at(where.model, where.path))
    return f"must be one of: {', '.join(choices)}" if choices else "is not an allowed value"


def _missing_words(match: re.Match[str], where: _Where) -> str:
    name = match["name"]
    if where.field == name:
        return "is required"
    choices = _choices(_types_at(where.model, (*where.path, name)))
    return f"needs the field {name}" + (f" (one of: {', '.join(choices)})" if choices else "")


def _unknown_words(match: re.Match[str], where: _Where) -> str:
    name = match["name"]
    words = "is not a known field" if where.field == name else f"has no field {name}"
    known = _field_names(_types_at(where.model, where.path))
    return f"{words}; the fields are: {', '.join(known)}" if known else words


def _absent_words(match: re.Match[str], _: _Where) -> str:
    return "a JSON body is required" if match["name"] == "data" else "is required"


_Words = Callable[[re.Match[str], _Where], str]
_RULES: list[tuple[re.Pattern[str], _Words]] = [
    (re.compile(r"Expected `str` matching regex (?P<regex>.+)"), _regex_words),
    (re.compile(r"Expected `(?P<type>\w+)` of length (?P<op>[<>]=) (?P<n>\d+)"), _length_words),
    (re.compile(r"Expected `(?:int|float)` (?P<op>[<>]=?) (?P<n>\S+)"), _bound_words),
    (re.compile(r"Expected `(?P<wanted>[^`]+)`, got `(?P<got>[^`]+)`"), _type_words),
    (re.compile(r"Invalid (?:enum )?value .+"), _choice_words),
    (re.compile(r"Object missing required field `(?P<name>[^`]+)`"), _missing_words),
    (re.compile(r"Object contains unknown field `(?P<name>[^`]+)`"), _unknown_words),
    (
        re.compile(r"Invalid (?P<what>UUID|RFC3339 encoded (?:datetime|date|time))"),
        lambda match, _: _FORMAT_WORDS[match["what"]],
    ),
    (re.compile(r"'(?P<name>[^']*)'"), _absent_words),  # a KeyError: no value at all
    (
        re.compile(r"Missing required (?P<kind>\w+) parameter '(?P<name>[^']+)'.*"),
        lambda match, _: f"the {match['kind']} parameter {match['name']} is required",
    ),
]


# The declared type of the value a message is about, for the choices it allows.


def _types_at(model: Any, path: tuple[str, ...]) -> list[Any]:
    """What the value at ``path`` may be, walking down from the signature model; a
    tagged union's tag field yields the tags themselves (strings)."""
    found = _alternatives(model) if model is not None else []
    for step in path:
        found = [alternative for tp in found for alternative in _step(tp, step)]
    return found


def _alternatives(tp: Any) -> list[Any]:
    """``tp`` without ``Annotated``, a union as its members."""
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    if get_origin(tp) in (Union, types.UnionType):
        return [alternative for member in get_args(tp) for alternative in _alternatives(member)]
    return [tp]


def _step(tp: Any, step: str) -> list[Any]:
    if step.startswith("["):
        items = get_args(tp)
        return _alternatives(items[0]) if get_origin(tp) in (list, tuple, set) and items else []
    if not _is_struct(tp):
        return []
    if tp.__struct_config__.tag_field == step:
        return [tp.__struct_config__.tag]
    fields = [f for f in msgspec.structs.fields(tp) if f.encode_name == step]
    return _alternatives(fields[0].type) if fields else []


def _choices(found: list[Any]) -> list[str]:
    values: list[Any] = []
    for tp in found:
        if isinstance(tp, str):  # a tag
            values.append(tp)
        elif get_origin(tp) is Literal:
            values += get_args(tp)
        elif isinstance(tp, type) and issubclass(tp, Enum):
            values += [member.value for member in tp]
    return list(dict.fromkeys(str(value) for value in values))


def _field_names(found: list[Any]) -> list[str]:
    structs = [tp for tp in found if _is_struct(tp)]
    if len(structs) != 1:  # a union of objects: which one was meant is unknown
        return []
    return [f.encode_name for f in msgspec.structs.fields(structs[0])]


def _is_struct(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, msgspec.Struct)


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
    ProjectionsBehindError: _unavailable,
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
