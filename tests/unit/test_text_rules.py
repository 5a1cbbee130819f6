"""Each text rule is written once, means the same to Python and to JSON Schema, and
words the refusals of its pattern (no database)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import jsonschema_rs
import msgspec
import pytest

from pcem.aggregates.text_rules import TEXT_RULES, TextRule
from pcem.api import events_schemas, people_schemas, settings_schemas
from pcem.api.json_input import JSON_SCHEMAS
from pcem.api.validation_wording import PATTERN_RULES, Where, in_words

PACKAGE = Path(__file__).resolve().parents[2] / "pcem"
RULES_MODULE = PACKAGE / "aggregates" / "text_rules.py"
# The headers of answers (ETag, WWW-Authenticate, the export's Content-Disposition):
# documented, never checked.
ANSWERS_ONLY = {PACKAGE / "api" / "openapi.py", PACKAGE / "api" / "negotiation.py"}
PATTERNS = {rule.pattern for rule in PATTERN_RULES}

# Where Python's \s and ECMAScript's part ways (\x1c-\x1f, \x85; \ufeff), the other
# controls, Unicode's spaces, and characters that are neither.
CHARACTERS = [
    *(chr(c) for c in range(0x20)),
    " ", "\x7f", "\x85", "\xa0", "\u1680", *(chr(c) for c in range(0x2000, 0x200C)),
    "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\ufeff",
    "a", "é", "@", ".", "/", ":", "*", '"', "😀",
]  # fmt: skip
VALID = [
    "Ada", "Ada Lovelace", "a@example.org", "+4915112345678", "https://example.org/hook",
    "http://example.org", "s" * 16, "s" * 256, "09:00", "23:59", "*", 'W/"3"', '"3"',
]  # fmt: skip
INVALID = ["", "24:00", "9:00", "+0151", "ftp://example.org", "s" * 257, "a@b", "W/3"]


def samples() -> list[str]:
    """Each character alone, around and inside valid values, and at their ends."""
    found = [*VALID, *INVALID]
    for c in CHARACTERS:
        found += [c, c * 3, f"a{c}", f"{c}a", f"{c}a{c}"]
        found += [f"{v}{c}" for v in VALID] + [f"{c}{v}" for v in VALID]
        found += [f"a{c}@example.org", f"https://ex{c}ample.org", "s" * 15 + c, f"09{c}00"]
    return list(dict.fromkeys(found))


def rule_id(rule: TextRule) -> str:
    return rule.words


@pytest.mark.parametrize("rule", PATTERN_RULES, ids=rule_id)
def test_python_and_json_schema_read_a_rule_alike(rule: TextRule) -> None:
    ecma = jsonschema_rs.validator_for({"type": "string", "pattern": rule.pattern})

    differ = [s for s in samples() if rule.matches(s) != ecma.is_valid(s)]

    assert not differ, f"{rule.pattern!r}: Python and JSON Schema disagree on {differ!r}"


@pytest.mark.parametrize("rule", PATTERN_RULES, ids=rule_id)
def test_msgspec_reads_a_rule_alike_but_for_a_final_newline(rule: TextRule) -> None:
    """msgspec searches (re.search): "$" also matches before a final newline, so it lets
    through a value the rule refuses for that newline alone. The rules msgspec alone
    enforces (no NUL, visible text) accept such a value anyway; the domain checks the
    settings' own with :meth:`TextRule.matches`."""
    declared = Annotated[str, msgspec.Meta(pattern=rule.pattern)]

    def accepted(text: str) -> bool:
        try:
            msgspec.convert(text, declared)
        except msgspec.ValidationError:
            return False
        return True

    differ = [
        s
        for s in samples()
        if accepted(s) != (rule.matches(s) or (s.endswith("\n") and rule.matches(s[:-1])))
    ]

    assert not differ, f"{rule.pattern!r}: msgspec disagrees on {differ!r}"


@pytest.mark.parametrize("rule", PATTERN_RULES, ids=rule_id)
def test_a_refusal_is_worded_by_its_rule(rule: TextRule) -> None:
    declared = Annotated[str, msgspec.Meta(pattern=rule.pattern)]
    body = msgspec.defstruct("Body", [("value", declared)])

    with pytest.raises(msgspec.ValidationError) as refused:
        msgspec.convert({"value": "\x00"}, body)
    message = str(refused.value).split(" - at ")[0]  # Litestar reports the path apart

    assert rule.words
    assert in_words(message, Where("value", ("data", "value"))) == rule.words


def test_the_rules_are_anchored_and_distinct() -> None:
    assert set(TEXT_RULES) <= set(PATTERN_RULES)
    assert len(PATTERNS) == len(PATTERN_RULES)
    assert all(r.pattern.startswith("^") and r.pattern.endswith("$") for r in PATTERN_RULES)


@pytest.mark.parametrize(
    "module", [people_schemas, events_schemas, settings_schemas], ids=lambda m: m.__name__
)
def test_every_pattern_of_a_request_body_is_a_rule(module: ModuleType) -> None:
    structs = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, msgspec.Struct)
        and value.__module__ == module.__name__
    ]
    _, components = msgspec.json.schema_components(structs)

    declared = set(patterns_in([components, JSON_SCHEMAS]))

    assert declared
    assert declared <= PATTERNS


def test_no_pattern_is_written_outside_its_rule() -> None:
    """A pattern is given as ``<rule>.pattern``: outside the rules module and the
    ``TextRule(...)`` that defines a rule, nothing spells one out, nor the NUL and
    whitespace classes the rules are built of."""
    copies = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == RULES_MODULE:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        definitions = {id(n) for d in ast.walk(tree) if defines_a_rule(d) for n in ast.walk(d)}
        for node in ast.walk(tree):
            where = f"{path.relative_to(PACKAGE.parent)}:{getattr(node, 'lineno', '?')}"
            if id(node) in definitions:
                continue
            if isinstance(node, ast.Constant) and spells_a_pattern(node.value):
                copies.append(where)
            if path not in ANSWERS_ONLY and any(
                isinstance(value, ast.Constant | ast.JoinedStr) for value in patterns_given(node)
            ):
                copies.append(where)

    assert not copies, f"patterns written out of their rule: {sorted(set(copies))}"


def spells_a_pattern(value: object) -> bool:
    return isinstance(value, str) and (
        value in PATTERNS or "\\x00" in value or "\\x1c" in value  # as a regex writes them
    )


def defines_a_rule(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == TextRule.__name__
    )


def patterns_given(node: ast.AST) -> Iterator[ast.expr]:
    """What ``node`` gives as a pattern: a ``pattern=`` argument, a ``"pattern"`` entry."""
    if isinstance(node, ast.Call):
        yield from (k.value for k in node.keywords if k.arg == "pattern")
    elif isinstance(node, ast.Dict):
        yield from (
            value
            for key, value in zip(node.keys, node.values, strict=True)
            if isinstance(key, ast.Constant) and key.value == "pattern"
        )


def patterns_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            yield node["pattern"]
        for value in node.values():
            yield from patterns_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from patterns_in(value)
