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
        where, params = conditions(user_id, search, after)
        statement = (
            f"SELECT {COLUMNS} FROM people WHERE {' AND '.join(where)}"  # noqa: S608 (fixed fragments)
            " ORDER BY last_name, first_name, id LIMIT %(limit)s"
        )
        rows = await self.reads.fetchall(user_id, statement, {**params, "limit": limit})
        return [PersonRow(*row) for row in rows]


def conditions(
    user_id: str, search: PeopleFilter, after: tuple[str, str, str] | None
) -> tuple[list[str], dict[str, Any]]:
    # Only fixed SQL fragments are joined; every value travels as a bound parameter.
    where = ["user_id = %(user_id)s", "deleted_at IS NULL"]
    params: dict[str, Any] = {"user_id": user_id}
    if after is not None:
        where.append(
            "(last_name, first_name, id) > (%(after_last)s, %(after_first)s, %(after_id)s)"
        )
        params.update(after_last=after[0], after_first=after[1], after_id=UUID(after[2]))
    for index, key in enumerate(search.has_keys):
        where.append(
            f"metadata ? %(has_key_{index})s AND metadata -> %(has_key_{index})s <> 'null'"
        )
        params[f"has_key_{index}"] = key
    if search.meta:
        where.append("metadata @> %(meta)s")
        params["meta"] = Jsonb(search.meta)
    if search.q:
        where.append("strpos(search_text, lower(%(q)s)) > 0")
        params["q"] = search.q
    return where, params
