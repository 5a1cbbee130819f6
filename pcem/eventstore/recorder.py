"""The event store recorder, extended to write idempotency records atomically.

A command saved with an ``Idempotency-Key`` records the key in the same
transaction as its events: either both commit or neither does, and the
primary key on (user_id, key) makes a second commit with the same key
impossible, whatever happens between processes.

The first event of a subject carries the subject's new data key
(``SealedStoredEvent.new_key``): its row goes into ``subject_keys`` in the same
transaction, so a key exists exactly when its subject's first event does (of two
creators of one aggregate, the one whose events lose loses its key row too).

It also bounds how long a request waits for PostgreSQL (``DATABASE_WAIT_SECONDS``:
then the API answers 503), and tells a lost commit from a conflict: when the
connection breaks during COMMIT, the transaction may have committed; the retry
that then meets its own events already stored answers their positions, as the
first try would have, instead of failing on them (or, for a use case retried
on conflict, applying the change twice).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import astuple, dataclass
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from pcem.eventstore.config import DATABASE_WAIT_SECONDS
from pcem.eventstore.sealing import SealedStoredEvent

T = TypeVar("T")
_RETRY_PAUSE_SECONDS = 0.2
# The library's own methods, without its retry (10 attempts, each waiting for a
# pooled connection: close to a minute before a request could answer 503).
_INSERT_ONCE = PostgresApplicationRecorder.insert_events.__wrapped__
_SELECT_ONCE = PostgresApplicationRecorder.select_events.__wrapped__


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
    INSERT_KEY = SQL(
        "INSERT INTO subject_keys (subject_id, user_id, person_id, wrapped_key)"
        " VALUES (%s, %s, %s, %s)"
    )

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self.select_stored_statement = SQL(
            "SELECT originator_id, originator_version, topic, state, notification_id"
            " FROM {schema}.{table}"
            " WHERE (originator_id, originator_version) IN"
            " (SELECT * FROM unnest(%s::uuid[], %s::int[]))"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))

    def existing(self, originator_ids: Sequence[UUID]) -> set[UUID]:
        """Which of ``originator_ids`` the store holds (one query for many: an import's
        batch asks which of its contacts' people exist)."""
        statement = SQL(
            "SELECT originator_id FROM {schema}.{table}"
            " WHERE originator_id = ANY(%s) AND originator_version = 1"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))

        def select() -> set[UUID]:
            with self.datastore.get_connection() as conn, conn.cursor() as curs:
                curs.execute(statement, (list(originator_ids),))
                return {row["originator_id"] for row in curs.fetchall()}

        return _within_deadline(select)

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Any:
        connection_broke = False
        deadline = time.monotonic() + DATABASE_WAIT_SECONDS
        while True:
            try:
                return _INSERT_ONCE(self, stored_events, **kwargs)
            except (InterfaceError, OperationalError):
                if time.monotonic() >= deadline:
                    raise
                connection_broke = True  # perhaps during COMMIT: it may have committed
                time.sleep(_RETRY_PAUSE_SECONDS)
            except IntegrityError as error:
                if connection_broke and (positions := self._stored_as(stored_events)):
                    return positions  # our own write, committed before the break
                if _violated_constraint(error) == IDEMPOTENCY_CONSTRAINT:
                    raise IdempotencyKeyTakenError() from None
                raise

    def select_events(self, *args: Any, **kwargs: Any) -> Any:
        return _within_deadline(lambda: _SELECT_ONCE(self, *args, **kwargs))

    def _stored_as(self, stored_events: Sequence[StoredEvent]) -> list[int] | None:
        """The positions of ``stored_events`` if the store holds exactly them (same
        topic and state: a rival's event at the same version never has our state,
        which carries its own timestamp); None otherwise."""
        ids = [e.originator_id for e in stored_events]
        versions = [e.originator_version for e in stored_events]
        rows = _within_deadline(lambda: self._select_stored(ids, versions))
        found = {(r["originator_id"], r["originator_version"]): r for r in rows}
        positions = []
        for event in stored_events:
            row = found.get((event.originator_id, event.originator_version))
            if row is None or (row["topic"], bytes(row["state"])) != (event.topic, event.state):
                return None
            positions.append(int(row["notification_id"]))
        return positions

    def _select_stored(self, ids: list[Any], versions: list[int]) -> list[DictRow]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.select_stored_statement, (ids, versions))
            return curs.fetchall()

    def _insert_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        *,
        idempotency: Sequence[IdempotencyRecord] = (),
        **kwargs: Any,
    ) -> None:
        super()._insert_events(curs, stored_events, **kwargs)
        new_keys = [
            astuple(event.new_key)  # in the columns' order
            for event in stored_events
            if isinstance(event, SealedStoredEvent) and event.new_key is not None
        ]
        if new_keys:
            curs.executemany(self.INSERT_KEY, new_keys)
        if idempotency:
            curs.executemany(
                self.INSERT_IDEMPOTENCY,
                [astuple(record) for record in idempotency],  # in the columns' order
            )


def _within_deadline(attempt: Callable[[], T]) -> T:
    """``attempt``, tried again while the database is unreachable, for at most
    ``DATABASE_WAIT_SECONDS`` (a restart that quick goes unnoticed)."""
    deadline = time.monotonic() + DATABASE_WAIT_SECONDS
    while True:
        try:
            return attempt()
        except (InterfaceError, OperationalError):
            if time.monotonic() >= deadline:
                raise
            time.sleep(_RETRY_PAUSE_SECONDS)


def _violated_constraint(error: IntegrityError) -> str | None:
    """The constraint psycopg reports for the unique violation behind ``error``."""
    cause = error.__cause__ or error.__context__
    diag = getattr(cause, "diag", None)
    return getattr(diag, "constraint_name", None)
