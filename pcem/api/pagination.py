"""Opaque, integrity-checked keyset cursors and the page envelope of API.md.

A cursor is the sort key of the last item of a page plus a keyed digest, so a
cursor that was edited or truncated is refused with 400 instead of silently
paging from somewhere else. It is not secret: it only ever pages through the
caller's own rows.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from typing import Annotated, Generic, TypeVar
from uuid import UUID

import msgspec
from litestar.params import QueryParameter

from pcem.api.problems import FieldError, InvalidInputError

T = TypeVar("T")

_DIGEST_KEY = b"pcem.pagination.cursor.v1"
_DIGEST_SIZE = 12


# The query parameters of every paged list.
Limit = Annotated[int, QueryParameter(ge=1, le=200)]
CURSOR_DOC = (
    "Opaque: the `next_cursor` of the page before, as this list returned it."
    " Any other value (made up, edited, or another list's) is a 400 on `cursor`."
)
Cursor = Annotated[str | None, QueryParameter(max_length=1024, description=CURSOR_DOC)]


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(sort_key: tuple[str, ...]) -> str:
    payload = msgspec.json.encode(list(sort_key))
    token = _digest(payload) + payload
    return base64.urlsafe_b64encode(token).decode().rstrip("=")


def decode_cursor(cursor: str, length: int) -> tuple[str, ...]:
    try:
        token = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        digest, payload = token[:_DIGEST_SIZE], token[_DIGEST_SIZE:]
        if not hmac.compare_digest(digest, _digest(payload)):
            raise ValueError("digest mismatch")
        key = msgspec.json.decode(payload, type=tuple[str, ...])
    except (ValueError, msgspec.DecodeError):
        raise _invalid() from None
    if len(key) != length:
        raise _invalid()
    return key


def encode_time_cursor(created_at: datetime, item_id: UUID) -> str:
    """A cursor for lists ordered by (created_at, id)."""
    return encode_cursor((created_at.isoformat(), str(item_id)))


def decode_time_cursor(cursor: str) -> tuple[datetime, UUID]:
    created_at, item_id = decode_cursor(cursor, length=2)
    try:
        return datetime.fromisoformat(created_at), UUID(item_id)
    except ValueError:
        raise _invalid() from None


def encode_version_cursor(aggregate_id: UUID, version: int) -> str:
    """A cursor for an aggregate's history: the page after this version."""
    return encode_cursor((str(aggregate_id), str(version)))


def decode_version_cursor(cursor: str, aggregate_id: UUID) -> int:
    """The version a history cursor pages after; one of another aggregate's history
    (or of another list) is refused."""
    cursor_id, version = decode_cursor(cursor, length=2)
    if cursor_id != str(aggregate_id) or not version.isdigit():
        raise _invalid()
    return int(version)


def _digest(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, key=_DIGEST_KEY, digest_size=_DIGEST_SIZE).digest()


def _invalid() -> InvalidInputError:
    return InvalidInputError([FieldError("cursor", "is not a cursor this API returned")])
