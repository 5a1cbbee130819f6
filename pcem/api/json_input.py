"""Checks on free-form JSON that msgspec types cannot express."""

from __future__ import annotations

from typing import Any

from pcem.api.problems import FieldError, InvalidInputError


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
