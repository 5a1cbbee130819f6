"""The ``imports`` table: submitted with its outbox message, run under a lock, counted.

A run holds a session advisory lock on its import for as long as it works on it: a
second delivery of the same task finds it taken and leaves; a worker that dies
releases it with its connection, so the redelivered task resumes at once. The tick
sends again an import nobody holds whose counts stopped moving for the delivery lease
(``PCEM_DELIVERY_LEASE_SECONDS``: a worker's hold on its work): its message lost with a
broker, or held unacknowledged by a dead worker until the broker's visibility timeout.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
import structlog
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from pcem.commands.idempotency import IdempotencyKey
from pcem.database import session_locks
from pcem.eventstore.recorder import IDEMPOTENCY_CONSTRAINT, IdempotencyKeyTakenError
from pcem.imports.view import COLUMNS, ImportRow, row_of

log = structlog.get_logger(__name__)

# The outbox message that starts (or resumes) an import: ``pcem.processors.tasks``
# relays it as the import task.
IMPORT = "pcem.import"


@dataclass(frozen=True)
class Submitted:
    id: UUID
    created_at: datetime


@dataclass(frozen=True)
class Job:
    """What a run needs of its import."""

    id: UUID
    user_id: str
    status: str
    format: str
    dry_run: bool
    processed: int
    content: bytes | None


@dataclass
class Progress:
    """Counts of records handled since the last write, and their problems."""

    processed: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    problems: list[dict[str, str]] = field(default_factory=list)

    def count(self, outcome: str) -> None:
        self.processed += 1
        setattr(self, outcome, getattr(self, outcome) + 1)

    def problem(self, record: str, message: str) -> None:
        self.problems.append({"record": record, "message": message})


class ImportJobs:
    SUBMIT = text(
        "INSERT INTO imports (id, user_id, status, format, dry_run, total, content,"
        " created_at, updated_at) VALUES (:id, :user_id, 'queued', :format, :dry_run, :total,"
        " :content, :now, :now)"
    )
    ENQUEUE = text("INSERT INTO outbox (task, subject_id) VALUES (:task, :id)")
    REMEMBER_KEY = text(
        "INSERT INTO idempotency_keys"
        " (user_id, key, request_hash, aggregate_id, aggregate_version, result_id)"
        " VALUES (:user_id, :key, :request_hash, :id, 0, :id)"
    )
    LOAD = text(
        "SELECT id, user_id, status, format, dry_run, processed, content FROM imports"
        " WHERE id = :id"
    )
    START = text(
        "UPDATE imports SET status = 'running', total = :total, updated_at = now() WHERE id = :id"
    )
    OUTCOMES = text(
        "SELECT key, request_hash FROM idempotency_keys WHERE user_id = :user_id"
        " AND key LIKE :prefix"
    )
    FORGET_OUTCOMES = text(
        "DELETE FROM idempotency_keys WHERE user_id = :user_id AND key LIKE :prefix"
    )
    PROGRESS = text(
        "UPDATE imports SET processed = processed + :processed, created = created + :created,"
        " updated = updated + :updated, unchanged = unchanged + :unchanged,"
        " skipped = skipped + :skipped, problems = problems || CAST(:problems AS jsonb),"
        " updated_at = now() WHERE id = :id"
    )
    FINISH = text(
        "UPDATE imports SET status = :status, content = NULL, updated_at = now(),"
        " finished_at = now() WHERE id = :id"
    )
    FAIL = text(
        "UPDATE imports SET status = 'failed', content = NULL, updated_at = now(),"
        " finished_at = now(), problems = problems || CAST(:problems AS jsonb) WHERE id = :id"
    )
    # Unfinished, not moving, and held by no run (the lock is taken only to ask).
    STALLED = text(
        "SELECT id FROM imports WHERE status IN ('queued', 'running') AND updated_at < :before"
        " AND pg_try_advisory_xact_lock(hashtextextended('pcem-import:' || id::text, 0))"
        " ORDER BY updated_at LIMIT 100"
    )
    TOUCH = text("UPDATE imports SET updated_at = now() WHERE id = ANY(:ids)")

    def __init__(self, engine: Engine, *, stalled_after: timedelta) -> None:
        self.engine = engine
        self.stalled_after = stalled_after

    def submit(
        self,
        import_id: UUID,
        user_id: str,
        *,
        format: str,
        dry_run: bool,
        content: bytes,
        total: int,
        now: datetime,
        key: IdempotencyKey | None = None,
    ) -> Submitted:
        """The import's row and the message that starts it, in one transaction; with
        the request's ``Idempotency-Key`` record when it has one."""
        row = {"id": import_id, "user_id": user_id, "format": format, "dry_run": dry_run}
        try:
            with self.engine.begin() as conn:
                conn.execute(self.SUBMIT, {**row, "total": total, "content": content, "now": now})
                conn.execute(self.ENQUEUE, {"task": IMPORT, "id": import_id})
                if key is not None:
                    conn.execute(self.REMEMBER_KEY, {**_key_row(key), "id": import_id})
        except IntegrityError as error:
            if IDEMPOTENCY_CONSTRAINT in str(error.orig):
                raise IdempotencyKeyTakenError() from None
            raise
        log.info("import.submitted", import_id=str(import_id), format=format, total=total)
        return Submitted(import_id, now)

    def held(self, import_id: UUID) -> AbstractContextManager[bool]:
        """Whether this run holds the import (a session lock, released on leaving or
        when the process dies with its connection)."""
        return session_locks.held(self.engine, "pcem-import", import_id)

    def load(self, import_id: UUID) -> Job | None:
        with self.engine.connect() as conn:
            row = conn.execute(self.LOAD, {"id": import_id}).first()
        if row is None:
            return None
        content = bytes(row.content) if row.content is not None else None
        return Job(row.id, row.user_id, row.status, row.format, row.dry_run, row.processed, content)

    def get(self, user_id: str, import_id: UUID) -> ImportRow | None:
        """One of the user's imports, read as the owner (a replayed answer, in a thread)."""
        statement = text(
            f"SELECT {COLUMNS} FROM imports WHERE user_id = :user_id AND id = :id"  # noqa: S608
        )
        with self.engine.connect() as conn:
            row = conn.execute(statement, {"user_id": user_id, "id": import_id}).first()
        return row_of(tuple(row)) if row is not None else None

    def start(self, import_id: UUID, *, total: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(self.START, {"id": import_id, "total": total})

    def recorded_outcomes(self, import_id: UUID, user_id: str) -> dict[int, str]:
        """What earlier runs of the import did to each contact they saved, by number
        (``run.outcome_key``: the idempotency record of the contact's first save)."""
        params = {"user_id": user_id, "prefix": _outcome_keys(import_id)}
        with self.engine.connect() as conn:
            rows = conn.execute(self.OUTCOMES, params).all()
        return {int(row.key.rsplit(":", 1)[1]): row.request_hash for row in rows}

    def record(self, import_id: UUID, progress: Progress) -> None:
        """Add ``progress`` to the import's counts (the point a resumed run starts from)."""
        counts = {
            "processed": progress.processed,
            "created": progress.created,
            "updated": progress.updated,
            "unchanged": progress.unchanged,
            "skipped": progress.skipped,
            "problems": msgspec.json.encode(progress.problems).decode(),
        }
        with self.engine.begin() as conn:
            conn.execute(self.PROGRESS, {**counts, "id": import_id})

    def finish(self, import_id: UUID, user_id: str) -> None:
        """Done: the file and the outcome records go, the counts stay."""
        with self.engine.begin() as conn:
            conn.execute(self.FINISH, {"id": import_id, "status": "done"})
            keys = _outcome_keys(import_id)
            conn.execute(self.FORGET_OUTCOMES, {"user_id": user_id, "prefix": keys})

    def fail(self, import_id: UUID, record: str, message: str) -> None:
        problems = msgspec.json.encode([{"record": record, "message": message}]).decode()
        with self.engine.begin() as conn:
            conn.execute(self.FAIL, {"id": import_id, "problems": problems})

    def send_stalled_again(self, now: datetime) -> list[UUID]:
        """Enqueue again the unfinished imports nobody runs whose counts have not moved
        for ``stalled_after``; their ids."""
        with self.engine.begin() as conn:
            before = now - self.stalled_after
            ids = list(conn.execute(self.STALLED, {"before": before}).scalars())
            for import_id in ids:
                conn.execute(self.ENQUEUE, {"task": IMPORT, "id": import_id})
            if ids:
                conn.execute(self.TOUCH, {"ids": ids})
        if ids:
            log.warning("import.sent_again", imports=[str(i) for i in ids])
        return ids


def outcome_key(import_id: UUID, number: int) -> str:
    """The idempotency key of the first save of contact ``number`` of an import."""
    return f"{_outcome_prefix(import_id)}{number}"


def _outcome_prefix(import_id: UUID) -> str:
    return f"pcem-import:{import_id}:"


def _outcome_keys(import_id: UUID) -> str:
    """A LIKE pattern of every outcome key of the import (an id has no ``%`` or ``_``)."""
    return f"{_outcome_prefix(import_id)}%"


def _key_row(key: IdempotencyKey) -> dict[str, Any]:
    return {"user_id": key.user_id, "key": key.key, "request_hash": key.request_hash}
