"""The event store recorder, extended to write idempotency records atomically.

A command saved with an ``Idempotency-Key`` records the key in the same
transaction as its events: either both commit or neither does, and the
primary key on (user_id, key) makes a second commit with the same key
impossible, whatever happens between processes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple, dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, StoredEvent
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


class IdempotencyKeyTakenError(Exception):
    """Another request with the same Idempotency-Key committed first."""


IDEMPOTENCY_CONSTRAINT = "idempotency_keys_pkey"


class PcemApplicationRecorder(PostgresApplicationRecorder):
    INSERT_IDEMPOTENCY = SQL(
        "INSERT INTO idempotency_keys"
        " (user_id, key, request_hash, aggregate_id, aggregate_version, result_id)"
        " VALUES (%s, %s, %s, %s, %s, %s)"
    )

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Any:
        try:
            return super().insert_events(stored_events, **kwargs)
        except IntegrityError as error:
            if _violated_constraint(error) == IDEMPOTENCY_CONSTRAINT:
                raise IdempotencyKeyTakenError() from None
            raise

    def _insert_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        *,
        idempotency: Sequence[IdempotencyRecord] = (),
        **kwargs: Any,
    ) -> None:
        super()._insert_events(curs, stored_events, **kwargs)
        if idempotency:
            curs.executemany(
                self.INSERT_IDEMPOTENCY,
                [astuple(record) for record in idempotency],  # in the columns' order
            )


def _violated_constraint(error: IntegrityError) -> str | None:
    """The constraint psycopg reports for the unique violation behind ``error``."""
    cause = error.__cause__ or error.__context__
    diag = getattr(cause, "diag", None)
    return getattr(diag, "constraint_name", None)
