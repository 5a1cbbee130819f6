"""Queries over the ``people`` read table. Every method takes ``user_id`` first.

Async, on the API's psycopg pool: a read costs no thread hop, and rows become
``PersonRow`` straight from psycopg's tuples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from pcem.database.row_security import AsUser

COLUMNS = "id, first_name, last_name, primary_contact, metadata, version, created_at, updated_at"


class PersonRow(msgspec.Struct):
    """A person as every read answers it (API.md's ``Person``, in its field order)."""

    id: UUID
    first_name: str
    last_name: str
    primary_contact: str | None
    metadata: dict[str, Any]
    version: int
    created_at: datetime
    updated_at: datetime

    @property
    def sort_key(self) -> tuple[str, str, str]:
        return (self.last_name, self.first_name, str(self.id))


@dataclass(frozen=True)
class PeopleFilter:
    """Search terms of ``GET /people`` (all optional, combined with AND)."""

    q: str | None = None
    has_keys: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)


class PeopleView:
    GET = (
        f"SELECT {COLUMNS} FROM people"  # noqa: S608 (a constant column list)
        " WHERE user_id = %(user_id)s AND id = %(id)s AND deleted_at IS NULL"
    )

    # The page is read through people_page (migration 0118), which scopes it to the user
    # itself: under row-level security the search operators could use no index.
    PAGE = (
        "SELECT * FROM people_page(%(user_id)s, %(after_last)s, %(after_first)s,"
        " %(after_id)s::uuid, %(has_keys)s::text[], %(meta)s::jsonb, %(q)s, %(limit)s)"
        " ORDER BY last_name, first_name, id"  # its order, not left to the function scan
    )

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.reads = AsUser(pool)

    async def get(self, user_id: str, person_id: UUID) -> PersonRow | None:
        rows = await self.reads.fetchall(user_id, self.GET, {"user_id": user_id, "id": person_id})
        return PersonRow(*rows[0]) if rows else None

    async def page(
        self,
        user_id: str,
        search: PeopleFilter,
        *,
        after: tuple[str, str, str] | None,
        limit: int,
    ) -> list[PersonRow]:
        """Up to ``limit`` people ordered by (last_name, first_name, id), after a sort key."""
        rows = await self.reads.fetchall(
            user_id, self.PAGE, page_params(user_id, search, after, limit)
        )
        return [PersonRow(*row) for row in rows]


def page_params(
    user_id: str, search: PeopleFilter, after: tuple[str, str, str] | None, limit: int
) -> dict[str, Any]:
    """``PeopleView.PAGE``'s parameters: a filter not asked for is NULL."""
    last, first, after_id = after if after is not None else (None, None, None)
    return {
        "user_id": user_id,
        "after_last": last,
        "after_first": first,
        "after_id": UUID(after_id) if after_id is not None else None,
        "has_keys": list(search.has_keys) or None,
        "meta": Jsonb(search.meta) if search.meta else None,
        "q": search.q or None,
        "limit": limit,
    }
