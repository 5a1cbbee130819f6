"""Queries over the ``people`` read table. Every method takes ``user_id`` first."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Engine, RowMapping, bindparam, text
from sqlalchemy.dialects.postgresql import JSONB

COLUMNS = "id, first_name, last_name, primary_contact, metadata, version, created_at, updated_at"


@dataclass(frozen=True)
class PersonRow:
    id: UUID
    first_name: str
    last_name: str
    primary_contact: str | None
    metadata: dict[str, Any]
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: RowMapping) -> PersonRow:
        return cls(**row)

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
    GET = text(
        f"SELECT {COLUMNS} FROM people"  # noqa: S608 (a constant column list)
        " WHERE user_id = :user_id AND id = :id AND deleted_at IS NULL"
    )

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, user_id: str, person_id: UUID) -> PersonRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(self.GET, {"user_id": user_id, "id": person_id}).mappings().first()
        return PersonRow.from_row(row) if row else None

    def page(
        self,
        user_id: str,
        search: PeopleFilter,
        *,
        after: tuple[str, str, str] | None,
        limit: int,
    ) -> list[PersonRow]:
        """Up to ``limit`` people ordered by (last_name, first_name, id), after a sort key."""
        where, params = _conditions(user_id, search, after)
        statement = text(
            f"SELECT {COLUMNS} FROM people WHERE {' AND '.join(where)}"  # noqa: S608 (fixed fragments)
            " ORDER BY last_name, first_name, id LIMIT :limit"
        ).bindparams(*_typed_params(params))
        with self.engine.connect() as conn:
            rows = conn.execute(statement, {**params, "limit": limit}).mappings().all()
        return [PersonRow.from_row(r) for r in rows]


def _conditions(
    user_id: str, search: PeopleFilter, after: tuple[str, str, str] | None
) -> tuple[list[str], dict[str, Any]]:
    # Only fixed SQL fragments are joined; every value travels as a bound parameter.
    where = ["user_id = :user_id", "deleted_at IS NULL"]
    params: dict[str, Any] = {"user_id": user_id}
    if after is not None:
        where.append("(last_name, first_name, id) > (:after_last, :after_first, :after_id)")
        params.update(after_last=after[0], after_first=after[1], after_id=UUID(after[2]))
    for index, key in enumerate(search.has_keys):
        where.append(f"metadata ? :has_key_{index} AND metadata -> :has_key_{index} <> 'null'")
        params[f"has_key_{index}"] = key
    if search.meta:
        where.append("metadata @> :meta")
        params["meta"] = search.meta
    if search.q:
        where.append("strpos(search_text, lower(:q)) > 0")
        params["q"] = search.q
    return where, params


def _typed_params(params: dict[str, Any]) -> list[Any]:
    return [bindparam("meta", type_=JSONB)] if "meta" in params else []
