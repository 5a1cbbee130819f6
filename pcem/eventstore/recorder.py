"""The event store recorder, extended to write idempotency records atomically.

A command saved with an ``Idempotency-Key`` records the key in the same
transaction as its events: either both commit or neither does, and the
primary key on (user_id, key) makes a second commit with the same key
impossible, whatever happens between processes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL


@dataclass(frozen=True)
class IdempotencyRecord:
    """What a keyed command produced: enough to replay its response."""

    user_id: str
    key: str
    request_hash: str
    aggregate_id: UUID
    aggregate_version: int
    result_id: UUID


class PcemApplicationRecorder(PostgresApplicationRecorder):
    INSERT_IDEMPOTENCY = SQL(
        "INSERT INTO idempotency_keys"
        " (user_id, key, request_hash, aggregate_id, aggregate_version, result_id)"
        " VALUES (%s, %s, %s, %s, %s, %s)"
    )

    def _insert_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        *,
        idempotency: IdempotencyRecord | None = None,
        **kwargs: Any,
    ) -> None:
        super()._insert_events(curs, stored_events, **kwargs)
        if idempotency is not None:
            curs.execute(
                self.INSERT_IDEMPOTENCY,
                (
                    idempotency.user_id,
                    idempotency.key,
                    idempotency.request_hash,
                    idempotency.aggregate_id,
                    idempotency.aggregate_version,
                    idempotency.result_id,
                ),
            )
