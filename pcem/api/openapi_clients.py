"""The OpenAPI document as client generators read it.

Litestar's document is valid JSON Schema, but generators (openapi-python-client,
datamodel-code-generator) read less of it than a validator does:

- a generic struct is named after its arguments' import paths
  (``Page_pcem.projections.people_view.PersonRow_``), which generators turn into
  packages or refuse: every component gets a plain identifier (``PersonPage``);
- an optional query parameter is ``oneOf: [string, null]`` with its ``format`` and
  limits beside the ``oneOf``, where generators never look (``as_of`` became a
  plain string): each keyword moves into the branch of the type it constrains, and
  a ``oneOf`` of one branch (an optional body field) becomes that branch;
- an optional choice is ``type: [null, string]`` with ``null`` among its ``enum``,
  which openapi-python-client makes three enum classes of: it becomes ``oneOf`` a
  string enum and ``null``.
"""

from __future__ import annotations

import re
from typing import Any

PLAIN_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_REF_PREFIX = "#/components/schemas/"
# Litestar's name of a generic struct: Page_<module>.<Class>_ (one type argument).
_GENERIC = re.compile(r"^(?P<generic>[A-Za-z]+)_(?:[\w]+\.)*(?P<argument>[A-Za-z]\w*)_$")
_KEYWORDS_OF_TYPE = {
    "string": ("format", "pattern", "minLength", "maxLength"),
    "integer": ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"),
    "array": ("items", "minItems", "maxItems", "uniqueItems"),
}


def plain_component_names(document: dict[str, Any]) -> None:
    """Rename each schema whose name is not a plain identifier, and every ``$ref`` to it."""
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    renamed = {name: plain_name(name) for name in schemas if not PLAIN_NAME.match(name)}
    if not renamed:
        return
    for old, new in renamed.items():
        if new in schemas:
            raise ValueError(f"schema {old!r} would take the name of another: {new!r}")
        schemas[new] = schemas.pop(old)
        schemas[new]["title"] = new  # generators name their classes after the title
    refs = {_REF_PREFIX + old: _REF_PREFIX + new for old, new in renamed.items()}
    _replace_refs(document, refs)


def plain_name(name: str) -> str:
    """``Page_pcem.projections.people_view.PersonRow_`` → ``PersonPage`` (a read model's
    ``…Row`` is the API's resource); anything else, its other characters as ``_``."""
    if match := _GENERIC.match(name):
        argument = match["argument"].removesuffix("Row")
        return f"{argument}{match['generic']}"
    return re.sub(r"\W", "_", name).strip("_")


def _replace_refs(node: Any, refs: dict[str, str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref in refs:
            node["$ref"] = refs[ref]
        for value in node.values():
            _replace_refs(value, refs)
    elif isinstance(node, list):
        for item in node:
            _replace_refs(item, refs)


def typed_fields(document: dict[str, Any]) -> None:
    """Every parameter's schema and every field of a component, as generators read them."""
    for item in document.get("paths", {}).values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                _as_generators_read(parameter.get("schema", {}))
    for schema in document.get("components", {}).get("schemas", {}).values():
        for field in schema.get("properties", {}).values():
            _as_generators_read(field)


def _as_generators_read(schema: dict[str, Any]) -> None:
    _nullable_enum_as_branches(schema)
    _keywords_in_their_branch(schema)


def _keywords_in_their_branch(schema: dict[str, Any]) -> None:
    """``{oneOf: [{type: string}, {type: null}], format: date-time}`` →
    ``{oneOf: [{type: string, format: date-time}, {type: null}]}``: the same values,
    spelled where a generator reads the branch's type from."""
    branches = schema.get("oneOf") or schema.get("anyOf")
    if not branches:
        return
    for branch in branches:
        for keyword in _KEYWORDS_OF_TYPE.get(branch.get("type"), ()):
            if keyword in schema:
                branch[keyword] = schema[keyword]
    for branch in branches:
        for keyword in _KEYWORDS_OF_TYPE.get(branch.get("type"), ()):
            schema.pop(keyword, None)
    if len(schema.get("oneOf", ())) == 1:
        schema.update(schema.pop("oneOf")[0])


def _nullable_enum_as_branches(schema: dict[str, Any]) -> None:
    """``{type: [null, string], enum: [a, b, null]}`` →
    ``{oneOf: [{type: string, enum: [a, b]}, {type: null}]}``."""
    kinds, choices = schema.get("type"), schema.get("enum")
    if not isinstance(kinds, list) or "null" not in kinds or not choices or len(kinds) != 2:
        return
    (kind,) = (k for k in kinds if k != "null")
    del schema["type"], schema["enum"]
    values = [choice for choice in choices if choice is not None]
    schema["oneOf"] = [{"type": kind, "enum": values}, {"type": "null"}]
