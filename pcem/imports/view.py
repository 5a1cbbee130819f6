"""A user's imports as they read them: async, as the user (``pcem.database.row_security``)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec
from psycopg_pool import AsyncConnectionPool

from pcem.database.row_security import AsUser


class ImportProblem(msgspec.Struct):
    record: str
    message: str


class ImportRow(msgspec.Struct):
    """An import as every read answers it (API.md's ``Import``)."""

    id: UUID
    status: str
    format: str
    dry_run: bool
    total: int
    processed: int
    created: int
    updated: int
    unchanged: int
    skipped: int
    problems: list[ImportProblem]
    created_at: datetime
    finished_at: datetime | None

    @property
    def sort_key(self) -> tuple[datetime, UUID]:
        return (self.created_at, self.id)


COLUMNS = (
    "id, status, format, dry_run, total, processed, created, updated, unchanged, skipped,"
    " problems, created_at, finished_at"
)


class ImportsView:
    GET = f"SELECT {COLUMNS} FROM imports WHERE user_id = %(user_id)s AND id = %(id)s"  # noqa: S608

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.reads = AsUser(pool)

    async def get(self, user_id: str, import_id: UUID) -> ImportRow | None:
        rows = await self.reads.fetchall(user_id, self.GET, {"user_id": user_id, "id": import_id})
        return row_of(rows[0]) if rows else None

    async def page(
        self, user_id: str, *, before: tuple[datetime, UUID] | None, limit: int
    ) -> list[ImportRow]:
        """The user's imports, newest first."""
        after = " AND (created_at, id) < (%(before_at)s, %(before_id)s)" if before else ""
        statement = (
            f"SELECT {COLUMNS} FROM imports WHERE user_id = %(user_id)s{after}"  # noqa: S608
            " ORDER BY created_at DESC, id DESC LIMIT %(limit)s"
        )
        params = {"user_id": user_id, "limit": limit, "before_at": None, "before_id": None}
        if before:
            params.update(before_at=before[0], before_id=before[1])
        return [row_of(row) for row in await self.reads.fetchall(user_id, statement, params)]


def row_of(row: tuple[object, ...]) -> ImportRow:
    return msgspec.convert(dict(zip(ImportRow.__struct_fields__, row, strict=True)), ImportRow)
