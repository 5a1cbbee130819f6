"""Validation messages in words, for the problems :mod:`pcem.api.problems` answers.

msgspec and Litestar describe a bad value in their own terms (a regex, a type name,
a Python repr); a client is told what is wrong and what is allowed instead, whatever
the route.
"""

from __future__ import annotations

import calendar
import re
import types
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import msgspec

from pcem.aggregates.text_rules import TEXT_RULES, TextRule
from pcem.api.versions import IF_MATCH

PATTERN_RULES: tuple[TextRule, ...] = (*TEXT_RULES, IF_MATCH)
"""Every rule whose pattern a request's schema declares; each says what it means."""
_RULE_BY_REPR = {repr(rule.pattern): rule for rule in PATTERN_RULES}  # as msgspec quotes it
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
PLAIN = re.compile(r"[\w ,.;:()+/-]*")  # no quotes, backticks or regex syntax
_STEP = re.compile(r"\[\d+\]|[^.\[\]]+")  # "channels[0].type" -> channels, [0], type


@dataclass(frozen=True, slots=True)
class Where:
    """What a message is about: the field it is reported on, and the path from the
    route's signature model (its body under ``data``) to the value."""

    field: str
    path: tuple[str, ...] = ()
    model: Any = None

    @property
    def in_body(self) -> bool:
        return self.path[:1] == ("data",)


def path_of(key: str, source: Any) -> tuple[str, ...]:
    steps = tuple(_STEP.findall(key))
    if source == "body" and steps[:1] != ("data",):
        return ("data", *steps)
    return steps


def in_words(message: str, where: Where) -> str:
    """msgspec's or Litestar's ``message`` about the value at ``where``, as a client reads it."""
    for pattern, words in _MESSAGES:
        if match := pattern.fullmatch(message):
            return words(match, where)
    return message if PLAIN.fullmatch(message) else "is not a valid value"


_DATE_SHAPE = re.compile(r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})")


def missing_date_words(value: str) -> str | None:
    """For a value shaped YYYY-MM-DD that is no day of the calendar (2026-02-30): that it
    does not exist, and why; None for anything else. "Must be YYYY-MM-DD" would be false."""
    shape = _DATE_SHAPE.fullmatch(value)
    if shape is None:
        return None
    year, month, day = int(shape["year"]), int(shape["month"]), int(shape["day"])
    if not 1 <= month <= 12:
        return f"{value} does not exist: a year has 12 months"
    days = calendar.monthrange(year, month)[1]
    if 1 <= day <= days:
        return None
    return f"{value} does not exist: {calendar.month_name[month]} {year} has {days} days"


def _regex_words(match: re.Match[str], _: Where) -> str:
    rule = _RULE_BY_REPR.get(match["regex"])
    return rule.words if rule else "is not in the expected format"


def _length_words(match: re.Match[str], _: Where) -> str:
    one, many = _UNIT_WORDS.get(match["type"], ("item", "items"))
    return (
        f"must have {_BOUND_WORDS[match['op']]} {match['n']} {one if match['n'] == '1' else many}"
    )


def _bound_words(match: re.Match[str], _: Where) -> str:
    return f"must be {_BOUND_WORDS[match['op']]} {match['n']}"


def _type_words(match: re.Match[str], where: Where) -> str:
    wanted = _types_in_words(match["wanted"])
    if not where.in_body:  # query, path and header values all arrive as strings
        return f"must be {wanted}"
    return f"must be {wanted}, not {_types_in_words(match['got'])}"


def _types_in_words(names: str) -> str:
    return " or ".join(_TYPE_WORDS.get(name, "another type") for name in names.split(" | "))


def _choice_words(_: re.Match[str], where: Where) -> str:
    choices = _choices(_types_at(where.model, where.path))
    return f"must be one of: {', '.join(choices)}" if choices else "is not an allowed value"


def _missing_words(match: re.Match[str], where: Where) -> str:
    name = match["name"]
    if where.field == name:
        return "is required"
    choices = _choices(_types_at(where.model, (*where.path, name)))
    return f"needs the field {name}" + (f" (one of: {', '.join(choices)})" if choices else "")


def _unknown_words(match: re.Match[str], where: Where) -> str:
    name = match["name"]
    words = "is not a known field" if where.field == name else f"has no field {name}"
    known = _field_names(_types_at(where.model, where.path))
    return f"{words}; the fields are: {', '.join(known)}" if known else words


def _absent_words(match: re.Match[str], _: Where) -> str:
    return "a JSON body is required" if match["name"] == "data" else "is required"


_Words = Callable[[re.Match[str], Where], str]
_MESSAGES: list[tuple[re.Pattern[str], _Words]] = [
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
