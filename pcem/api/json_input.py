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
    """Walked without recursion: input nested deeper than the stack is refused later, by
    its own rule, not here by a RecursionError."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str) and "\x00" in item:
            return True
        if isinstance(item, dict):
            if any("\x00" in key for key in item):
                return True
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False
