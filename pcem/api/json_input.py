"""Checks on free-form JSON that msgspec types cannot express."""

from __future__ import annotations

from typing import Any

from pcem.api.problems import FieldError, InvalidInputError


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
