"""Which of the media types a route offers the client's ``Accept`` prefers (RFC 9110
12.5.1), for the routes that answer in more than one (the export), and how the OpenAPI
document lists their answer.

Each offered type takes the weight (``q``) of the most specific range that matches it
(``text/vcard`` over ``text/*`` over ``*/*``); the heaviest wins, a tie going to the
more specific match, then to the route's own order. A weight of 0 refuses a type. No
``Accept`` (or an empty one) takes the route's first type; a range that cannot be read
(no ``/``, a weight that is not a number from 0 to 1) counts as absent, and ``*``
alone as ``*/*`` (as old Java clients send it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple


class NotAcceptableError(Exception):
    """None of the offered media types is acceptable to the client (406)."""

    def __init__(self, offered: Sequence[str]) -> None:
        super().__init__(f"the Accept header allows none of: {', '.join(offered)}")


class _Range(NamedTuple):
    type: str
    subtype: str
    weight: float

    def specificity(self, media_type: str) -> int | None:
        """2 for the type itself, 1 for its ``type/*``, 0 for ``*/*``; None: no match."""
        kind, _, sub = media_type.partition("/")
        if (self.type, self.subtype) == (kind, sub):
            return 2
        if self.subtype == "*" and self.type in (kind, "*"):
            return 1 if self.type == kind else 0
        return None


def preferred(accept: str | None, offered: Sequence[str]) -> str:
    """The offered type ``accept`` prefers; raises ``NotAcceptableError`` if none."""
    if accept is None or not accept.strip():
        return offered[0]
    ranges = [r for part in accept.split(",") if (r := _range(part)) is not None]
    ranked = []
    for order, media_type in enumerate(offered):
        matches = [(s, r.weight) for r in ranges if (s := r.specificity(media_type)) is not None]
        if matches:
            specificity, weight = max(matches)  # the most specific range decides
            if weight > 0:
                ranked.append((weight, specificity, -order, media_type))
    if not ranked:
        raise NotAcceptableError(offered)
    return max(ranked)[-1]


def _range(text: str) -> _Range | None:
    media, *parameters = (piece.strip() for piece in text.split(";"))
    media = "*/*" if media == "*" else media.lower()
    kind, slash, sub = media.partition("/")
    if not (slash and kind and sub) or (kind == "*" and sub != "*"):
        return None
    weight = 1.0
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                weight = float(value.strip())
            except ValueError:
                return None
    return _Range(kind, sub, weight) if 0 <= weight <= 1 else None


def document_negotiated(operation: dict[str, Any], media_types: tuple[str, ...]) -> None:
    """The OpenAPI operation of a route that answers in the type ``Accept`` prefers, as a
    file: each type (those the route's ``responses`` give no schema, as text) and the
    file's name (``pcem.api.openapi`` calls it for routes that declare ``media_types``)."""
    success = operation["responses"]["200"]
    shaped = success.get("content", {})
    success["content"] = {t: shaped.get(t, {"schema": {"type": "string"}}) for t in media_types}
    success["headers"] = {
        **success.get("headers", {}),
        "Content-Disposition": {
            "description": 'The file\'s name: `attachment; filename="…"`.',
            "required": True,
            "schema": {"type": "string", "pattern": "^attachment; filename="},
        },
        "Cache-Control": {
            "description": "`no-store`: the answer is personal data.",
            "required": True,
            "schema": {"type": "string"},
        },
    }
