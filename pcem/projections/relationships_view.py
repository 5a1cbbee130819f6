"""Queries over the ``relationships`` table. Every method takes ``user_id`` first.

A relationship is visible only while both of its people are (soft delete hides
everything touching a deleted person; restore brings it back).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from sqlalchemy import Engine, RowMapping, text

Direction = Literal["out", "in", "both"]

_DIRECTION = {
    "out": "r.source_id = :person_id",
    "in": "r.target_id = :person_id",
    "both": "(r.source_id = :person_id OR r.target_id = :person_id)",
}


_SELECT = (
    "SELECT r.id, r.source_id, r.target_id, r.type, r.created_at FROM relationships r"
    " JOIN people s ON s.id = r.source_id JOIN people t ON t.id = r.target_id WHERE "
)


@dataclass(frozen=True)
class RelationshipRow:
    id: UUID
    source_id: UUID
    target_id: UUID
    type: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: RowMapping) -> RelationshipRow:
        return cls(**row)

    @property
    def sort_key(self) -> tuple[datetime, UUID]:
        return (self.created_at, self.id)


class RelationshipsView:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def page(
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
            "r.user_id = :user_id",
            _DIRECTION[direction],
            "s.deleted_at IS NULL",
            "t.deleted_at IS NULL",
        ]
        if after is not None:
            where.append("(r.created_at, r.id) > (:after_at, :after_id)")
        statement = text(
            _SELECT + " AND ".join(where) + " ORDER BY r.created_at, r.id LIMIT :limit"
        )
        params = {"user_id": user_id, "person_id": person_id, "limit": limit}
        if after is not None:
            params.update(after_at=after[0], after_id=after[1])
        with self.engine.connect() as conn:
            rows = conn.execute(statement, params).mappings().all()
        return [RelationshipRow.from_row(r) for r in rows]
