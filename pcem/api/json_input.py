"""Checks on free-form JSON that msgspec types cannot express."""

from __future__ import annotations

from typing import Any

from pcem.aggregates.person import (
    MAX_METADATA_BYTES,
    MAX_METADATA_DEPTH,
    MAX_METADATA_ENTRIES,
    MAX_METADATA_KEYS,
)
from pcem.aggregates.text_rules import NO_NUL
from pcem.api.problems import FieldError, InvalidInputError

_REF = "#/components/schemas/{}"

_SCALAR: list[dict[str, Any]] = [
    {"type": "string", "pattern": NO_NUL.pattern},
    {"type": ["number", "boolean", "null"]},
]


def _metadata_schemas() -> dict[str, Any]:
    """A person's metadata as the aggregate's rules allow it, one component per level of
    nesting (JSON Schema has no depth limit of its own): ``Metadata`` is level 1, and
    level ``MAX_METADATA_DEPTH`` holds no object or array."""
    schemas: dict[str, Any] = {}
    for depth in range(1, MAX_METADATA_DEPTH + 1):
        inner = (
            {"$ref": _REF.format(f"MetadataValue{depth + 1}")}
            if depth < MAX_METADATA_DEPTH
            else {"anyOf": _SCALAR}
        )
        name = "Metadata" if depth == 1 else f"MetadataObject{depth}"
        schemas[name] = {
            "type": "object",
            "maxProperties": MAX_METADATA_KEYS,
            "propertyNames": {"pattern": NO_NUL.pattern},
            "additionalProperties": inner,
        }
        if depth > 1:
            # No maxItems: the total of keys and items is one count over every level,
            # which JSON Schema cannot say (the description does).
            schemas[f"MetadataArray{depth}"] = {"type": "array", "items": inner}
            schemas[f"MetadataValue{depth}"] = {
                "anyOf": [
                    *_SCALAR,
                    {"$ref": _REF.format(f"MetadataArray{depth}")},
                    {"$ref": _REF.format(f"MetadataObject{depth}")},
                ]
            }
    schemas["Metadata"]["description"] = (
        f"Any JSON object: objects and arrays nested at most {MAX_METADATA_DEPTH} deep"
        f" (this object included), at most {MAX_METADATA_KEYS} keys in any one object,"
        f" {MAX_METADATA_ENTRIES} keys and array items in all, {MAX_METADATA_BYTES} bytes"
        " encoded as JSON, and no NUL character."
    )
    return schemas


JSON_SCHEMAS: dict[str, Any] = _metadata_schemas()
"""A person's metadata as the aggregate's rules allow it, for the OpenAPI document."""
IS_METADATA = {"allOf": [{"$ref": _REF.format("Metadata")}]}  # as a Litestar schema_extra


def reject_nul_characters(field: str, value: Any) -> None:
    """PostgreSQL's jsonb cannot store U+0000 in keys or strings: refuse it up front."""
    if _contains_nul(value):
        raise InvalidInputError([FieldError(field, NO_NUL.words)])


def _contains_nul(value: Any) -> bool:
    """Walked without recursion: input nested deeper than the stack is refused later, by
    its own rule, not here by a RecursionError."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str) and not NO_NUL.matches(item):
            return True
        if isinstance(item, dict):
            if not all(NO_NUL.matches(key) for key in item):
                return True
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False
