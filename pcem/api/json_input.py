"""Checks on free-form JSON that msgspec types cannot express."""

from __future__ import annotations

from typing import Any

from pcem.api.problems import FieldError, InvalidInputError

_NO_NUL = r"^[^\x00]*$"
_REF = "#/components/schemas/{}"
JSON_OBJECT_REF = {"$ref": _REF.format("JsonObject")}
IS_JSON_OBJECT = {"allOf": [JSON_OBJECT_REF]}  # as a Litestar schema_extra
JSON_SCHEMAS: dict[str, Any] = {
    "JsonValue": {
        "anyOf": [
            {"type": "string", "pattern": _NO_NUL},
            {"type": ["number", "boolean", "null"]},
            {"type": "array", "items": {"$ref": _REF.format("JsonValue")}},
            JSON_OBJECT_REF,
        ]
    },
    "JsonObject": {
        "type": "object",
        "propertyNames": {"pattern": _NO_NUL},
        "additionalProperties": {"$ref": _REF.format("JsonValue")},
    },
}
"""Free-form JSON as :func:`reject_nul_characters` lets it through, for the OpenAPI document."""


def reject_nul_characters(field: str, value: Any) -> None:
    """PostgreSQL's jsonb cannot store U+0000 in keys or strings: refuse it up front."""
    if _contains_nul(value):
        raise InvalidInputError([FieldError(field, "must not contain the NUL character (\\u0000)")])


def _contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any("\x00" in k or _contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains_nul(v) for v in value)
    return False
