"""Queries over the ``relationships`` table. Every method takes ``user_id`` first.

A relationship is visible only while both of its people are (soft delete hides
everything touching a deleted person; restore brings it back).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import msgspec
from psycopg_pool import AsyncConnectionPool

from pcem.database.row_security import AsUser

Direction = Literal["out", "in", "both"]

_DIRECTION = {
    "out": "r.source_id = %(person_id)s",
    "in": "r.target_id = %(person_id)s",
    "both": "(r.source_id = %(person_id)s OR r.target_id = %(person_id)s)",
}


_SELECT = (
    "SELECT r.id, r.source_id, r.target_id, r.type, r.created_at FROM relationships r"
    " JOIN people s ON s.id = r.source_id JOIN people t ON t.id = r.target_id WHERE "
)


class RelationshipRow(msgspec.Struct):
    """A relationship as every read answers it (API.md's ``Relationship``)."""

    id: UUID
    source_id: UUID
    target_id: UUID
    type: str
    created_at: datetime

    @property
    def sort_key(self) -> tuple[datetime, UUID]:
        return (self.created_at, self.id)


class RelationshipsView:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.reads = AsUser(pool)

    async def page(
        self,
        user_id: str,
        person_id: UUID,
        direction: Direction,
        *,
        after: tuple[datetime, UUID] | None,
        limit: int,
    ) -> list[RelationshipRow]:
        """Visible relationships of one person, oldest first."""
        where = [
            "r.user_id = %(user_id)s",
            _DIRECTION[direction],
            "s.deleted_at IS NULL",
            "t.deleted_at IS NULL",
        ]
        params: dict[str, Any] = {"user_id": user_id, "person_id": person_id, "limit": limit}
        if after is not None:
            where.append("(r.created_at, r.id) > (%(after_at)s, %(after_id)s)")
            params.update(after_at=after[0], after_id=after[1])
        statement = _SELECT + " AND ".join(where) + " ORDER BY r.created_at, r.id LIMIT %(limit)s"
        rows = await self.reads.fetchall(user_id, statement, params)
        return [RelationshipRow(*row) for row in rows]
