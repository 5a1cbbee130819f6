"""The OpenAPI document, made exact once for every route from what it declares.

Litestar documents each route's parameters, body and success answer. What the
app adds around the handlers is documented here, from the same declarations
the app acts on: the problem answers each operation can really give (from its
parameters, body, ``query()``/``command()`` options and role guard), the
headers those answers carry, no security on the public routes, and no content
on a 204. Request bodies that refuse unknown fields say so
(:class:`StrictStructSchemaPlugin`).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin
from litestar._openapi.schema_generation import SchemaCreator
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import Schema
from litestar.routes import HTTPRoute
from litestar.typing import FieldDefinition

from pcem.api.json_input import JSON_SCHEMAS
from pcem.api.negotiation import document_negotiated
from pcem.api.openapi_clients import plain_component_names, typed_fields
from pcem.api.problems import PROBLEM_JSON, Problem
from pcem.api.raw_body import RawBody
from pcem.api.roles import RoleGuard
from pcem.api.versions import ETAG_PATTERN, POSITION_HEADER

PUBLIC_PREFIXES = ("/health", "/metrics", "/schema")
"""Routes without authentication, rate limits or a user's data."""
TOKEN_IN_PATH_PREFIXES = ("/feeds",)
"""Routes whose URL holds their credential (a calendar feed): no bearer token, but
rate limited per client address."""

_REF = "#/components/schemas/{name}"
_INTEGER = {"type": "integer", "minimum": 0}
_RETRY_AFTER = {"description": "Seconds to wait before trying again.", "schema": _INTEGER}
_PROBLEM_HEADERS: dict[int, dict[str, dict[str, Any]]] = {
    401: {
        "WWW-Authenticate": {
            "description": 'The scheme to use: `Bearer error="invalid_token"`.',
            "required": True,
            "schema": {"type": "string", "pattern": "^Bearer"},
        }
    },
    409: {"Retry-After": _RETRY_AFTER},  # only while the same Idempotency-Key is in flight
    412: {
        "ETag": {
            "description": "The resource's current version.",
            "required": True,
            "schema": {"type": "string", "pattern": ETAG_PATTERN},
        }
    },
    # 429 comes from the rate-limit middleware, in front of every non-public route.
    429: {
        "Retry-After": {**_RETRY_AFTER, "required": True},
        "RateLimit": {
            "description": "The limit's remaining quota and reset (IETF RateLimit fields).",
            "schema": {"type": "string"},
        },
        "RateLimit-Policy": {
            "description": "The limit applied (IETF RateLimit fields).",
            "schema": {"type": "string"},
        },
    },
    503: {"Retry-After": {**_RETRY_AFTER, "required": True}},
}
_PROBLEM_WHEN = {
    400: "The request is malformed or invalid; `errors` names each field.",
    401: "No valid bearer token.",
    403: "The token lacks the role this route needs.",
    404: "No such resource of yours (another user's answers the same).",
    406: "`Accept` allows none of the media types this route answers in.",
    409: "A conflict with the current state, or the same Idempotency-Key still in flight.",
    412: "`If-Match` names another version than the current one.",
    413: "The body is over 64 KiB.",
    415: "The body is of a type this route does not take.",
    422: "The Idempotency-Key was used with a different body.",
    429: "Too many requests; wait `Retry-After` seconds.",
    503: "A dependency is down, or the read models did not catch up within 5 s.",
}
_SUCCESS_HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {
        "description": 'The resource\'s version, as a weak entity tag (`W/"<version>"`).',
        "schema": {"type": "string", "pattern": ETAG_PATTERN},
    },
    POSITION_HEADER: {
        "description": "The event position this command wrote; send it as "
        "`PCEM-Min-Position` to read it on any replica.",
        "schema": {**_INTEGER, "minimum": 1},
    },
    "Location": {
        "description": "Where the new resource is.",
        "required": True,
        "schema": {"type": "string", "format": "uri-reference"},
    },
}


def is_public(path: str) -> bool:
    return path.startswith(PUBLIC_PREFIXES)


def needs_bearer(path: str) -> bool:
    return not path.startswith((*PUBLIC_PREFIXES, *TOKEN_IN_PATH_PREFIXES))


class StrictStructSchemaPlugin(StructSchemaPlugin):
    """A Struct that refuses unknown fields is documented with ``additionalProperties:
    false``, so clients (and generated ones) know a stray field is a 400."""

    def to_openapi_schema(
        self, field_definition: FieldDefinition, schema_creator: SchemaCreator
    ) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        config = getattr(field_definition.type_, "__struct_config__", None)
        if config is not None and config.forbid_unknown_fields:
            schema.additional_properties = False
        return schema


def complete_document(app: Litestar) -> None:
    """Complete the document ``/schema/openapi.json`` serves (built once, then cached)."""
    document = app.plugins.get(OpenAPIPlugin).provide_openapi_schema()
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    _, components = msgspec.json.schema_components([Problem], ref_template=_REF)
    schemas.update(components)
    schemas.update(JSON_SCHEMAS)
    operations = _operations(app)
    # A resource whose changes take If-Match carries its version as an ETag on every read.
    versioned = {path for path, _, handler in operations if handler.opt.get("conditional")}
    for path, method, handler in operations:
        operation = document["paths"].get(path, {}).get(method)
        if operation is not None:
            _complete(operation, handler, path, schemas, versioned=path in versioned)
    for path, _, handler in operations:  # once every method of a path is complete
        if "documented_as" in handler.opt and path in document["paths"]:
            _rename(document["paths"], path, *handler.opt["documented_as"])
    typed_fields(document)
    plain_component_names(document)


def _rename(paths: dict[str, Any], path: str, documented: str, old: str, new: str) -> None:
    """A route Litestar cannot spell (a parameter inside a path segment, ``{token}.ics``)
    documented as clients call it."""
    item = paths.pop(path)
    paths[documented] = item
    for operation in item.values():
        for parameter in operation.get("parameters", []):
            if parameter.get("in") == "path" and parameter.get("name") == old:
                parameter["name"] = new


def _document_entity_tag(operation: dict[str, Any]) -> None:
    """A read whose ETag is its content's: ``If-None-Match`` answers 304 with the same
    validators and caching headers."""
    operation.setdefault("parameters", []).append(
        {
            "name": "If-None-Match",
            "in": "header",
            "required": False,
            "description": "The ETag of a copy you hold: 304 with no body if it is current.",
            "schema": {"type": "string"},
        }
    )
    headers = {
        "ETag": {
            "description": "A strong entity tag of the content: equal content, equal tag.",
            "required": True,
            "schema": {"type": "string", "pattern": '^"[A-Za-z0-9_-]+"$'},
        },
        "Cache-Control": {
            "description": "`private, no-cache`: revalidate with `If-None-Match` each time.",
            "required": True,
            "schema": {"type": "string"},
        },
    }
    responses = operation["responses"]
    responses["200"]["headers"] = {**responses["200"].get("headers", {}), **headers}
    responses["304"] = {
        "description": "Not Modified: your copy (`If-None-Match`) is current.",
        "headers": headers,
    }


def _operations(app: Litestar) -> list[tuple[str, str, HTTPRouteHandler]]:
    return [
        (route.path_format, method.lower(), handler)
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        for method in handler.http_methods
    ]


def _complete(
    operation: dict[str, Any],
    handler: HTTPRouteHandler,
    path: str,
    schemas: dict[str, Any],
    *,
    versioned: bool,
) -> None:
    responses: dict[str, Any] = operation["responses"]
    public = is_public(path)
    if not needs_bearer(path):
        operation["security"] = []
    for code, response in responses.items():
        if code == "204":
            response.pop("content", None)
        if code.startswith("2"):
            # A file in several types (the export) is no versioned resource: its
            # "version" is its format's.
            versioned_answer = (
                "content" in response
                and not handler.opt.get("media_types")
                and (versioned or _has_version(response, schemas))
            )
            _document_success_headers(code, response, handler, versioned=versioned_answer)
    responses.pop("400", None)  # Litestar's own, as application/json
    if raw_body := handler.opt.get("raw_body"):
        _document_raw_body(operation, raw_body)
    for status in _problem_statuses(operation, handler, path, public, schemas):
        responses[str(status)] = _problem_answer(status)
    if raw_body:
        responses["413"]["description"] = f"Content Too Large. The body is over {raw_body.limit}."
    if "400" in responses:
        responses["400"]["description"] += "".join(_refusals(operation))
    if handler.opt.get("entity_tag"):
        _document_entity_tag(operation)
    if media_types := handler.opt.get("media_types"):
        document_negotiated(operation, media_types)


def _problem_statuses(
    operation: dict[str, Any],
    handler: HTTPRouteHandler,
    path: str,
    public: bool,
    schemas: dict[str, Any],
) -> list[int]:
    opt = handler.opt
    parameters = operation.get("parameters", [])
    has_body = "requestBody" in operation
    replay = opt.get("replay") is not None
    statuses = {
        400: has_body or any(p["in"] != "path" for p in parameters),
        401: needs_bearer(path),
        403: any(
            isinstance(guard, RoleGuard)
            for layer in handler.ownership_layers
            for guard in layer.guards or ()
        ),
        404: any(p["in"] == "path" for p in parameters)
        or _names_a_resource(operation, schemas)
        or bool(opt.get("may_be_missing")),  # a resource of the caller's they may lack
        406: bool(opt.get("media_types")),  # chosen by Accept
        409: bool(opt.get("writes_events") or opt.get("conflicts")),  # concurrent writers
        412: bool(opt.get("conditional")),
        413: has_body or replay,  # a replayable POST reads its body for the fingerprint
        415: bool(opt.get("raw_body")),
        422: replay,
        429: not public,
        503: not public,
    }
    return [status for status, occurs in statuses.items() if occurs]


def _names_a_resource(operation: dict[str, Any], schemas: dict[str, Any]) -> bool:
    """A body with a UUID field names a resource of the caller's (``person_id``)."""
    content = operation.get("requestBody", {}).get("content", {})
    schema = _resolved(content.get("application/json", {}).get("schema", {}), schemas)
    return any(p.get("format") == "uuid" for p in schema.get("properties", {}).values())


def _resolved(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    return schemas.get(ref.rsplit("/", 1)[-1], {}) if ref else schema


def _document_raw_body(operation: dict[str, Any], raw_body: RawBody) -> None:
    """A body taken as it is sent (a file), in one of the media types the route reads."""
    operation["requestBody"] = {
        "required": True,
        "description": f"{raw_body.description} At most {raw_body.limit}.",
        "content": {
            media_type: {"schema": {"type": "string"}} for media_type in raw_body.media_types
        },
    }


# Refusals a parameter's schema cannot state, named in the 400 of each operation it is on.
_REFUSED = {
    "cursor": " Also a `cursor` this list did not return (cursors are opaque).",
    "PCEM-Min-Position": " Also a `PCEM-Min-Position` past the latest event's position.",
    "If-Match": " Also an empty `If-Match`.",
}


def _refusals(operation: dict[str, Any]) -> list[str]:
    parameters = operation.get("parameters", [])
    found = [_REFUSED[p["name"]] for p in parameters if p["name"] in _REFUSED]
    if any(p["in"] == "query" for p in parameters):
        found.insert(0, " Also a query parameter given twice, unless it is an array.")
    return found


def _problem_answer(status: int) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": f"{HTTPStatus(status).phrase}. {_PROBLEM_WHEN[status]}",
        "content": {PROBLEM_JSON: {"schema": {"$ref": _REF.format(name="Problem")}}},
    }
    if headers := _PROBLEM_HEADERS.get(status):
        answer["headers"] = headers
    return answer


def _document_success_headers(
    status: str, response: dict[str, Any], handler: HTTPRouteHandler, *, versioned: bool
) -> None:
    headers = response.setdefault("headers", {})
    if versioned:
        headers["ETag"] = _SUCCESS_HEADERS["ETag"]
    if handler.opt.get("writes_events"):
        headers[POSITION_HEADER] = _SUCCESS_HEADERS[POSITION_HEADER]
    if status == "201" or "Location" in headers:  # a 202's too, with its schema
        headers["Location"] = {**_SUCCESS_HEADERS["Location"], **headers.get("Location", {})}
        headers["Location"]["schema"] = _SUCCESS_HEADERS["Location"]["schema"]
    if not headers:
        del response["headers"]


def _has_version(response: dict[str, Any], schemas: dict[str, Any]) -> bool:
    """A single resource with a ``version``: its ETag is that version."""
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return "version" in _resolved(schema, schemas).get("properties", {})
