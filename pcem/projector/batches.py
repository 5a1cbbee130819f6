"""Applying a projection's events in batches: one transaction, one position update.

The live runner, a rebuild and a verification all go through :class:`Batches`;
they differ only in their :class:`Track`: the tracking row that holds their
position, and the schema whose tables the handlers write to.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import psycopg
import sqlalchemy.exc
from eventsourcing.persistence import Mapper, StoredEvent
from sqlalchemy import Connection, Engine, text

from pcem.database.connections import driver_connection
from pcem.eventstore.sealing import prefetch_keys
from pcem.projections.base import Projection
from pcem.projections.writes import deferring, flush_deferred, pipelined
from pcem.projector.failures import error_summary
from pcem.projector.shadow import LIVE_SCHEMA, quote
from pcem.projector.tracking import ProjectionTracking

MAX_POSITION = 2**63 - 1
FLUSH_EVERY = 250  # events between writes of a batch's deferred changes

# A batch is a window of positions, (after, after + limit], so every plan is
# bounded: an ORDER BY ... LIMIT with a topic filter lets the planner scan the
# whole rest of the store when its estimates are off. The head is read in the
# same snapshot: events commit in position order, so once the window reaches
# the visible head, no lower position can still appear.
SELECT_BATCH = (
    "WITH head AS (SELECT coalesce(max(notification_id), 0) AS head FROM pcem_events)"
    " SELECT head.head, e.notification_id, e.originator_id, e.originator_version, e.topic,"
    " e.state FROM head LEFT JOIN pcem_events e ON e.notification_id > %(after)s"
    " AND e.notification_id <= %(window_end)s AND e.topic = ANY(%(topics)s)"
    " ORDER BY e.notification_id"
)
SEARCH_PATH = text("SELECT set_config('search_path', :path, true)")
CURRENT_SEARCH_PATH = text("SELECT current_setting('search_path')")

# Errors that say "the database is unreachable", not "this event is bad".
DATABASE_UNAVAILABLE: tuple[type[BaseException], ...] = (
    psycopg.OperationalError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    OSError,
)
DATABASE_ERRORS: tuple[type[BaseException], ...] = (psycopg.Error, sqlalchemy.exc.DBAPIError)


@dataclass(frozen=True)
class Track:
    """A tracking row, the schema its tables are in (None: the live tables), and the
    state a successful batch leaves it in."""

    name: str
    schema: str | None = None
    state: str = "running"


@dataclass(frozen=True)
class BatchResult:
    after: int  # the track's position after the batch
    events: int  # applied (events of topics the projection handles)
    full: bool  # more events are waiting beyond this batch


class ProjectionFailure(Exception):
    """An event the projection cannot apply; everything before it has been applied."""

    def __init__(self, position: int, cause: BaseException) -> None:
        self.summary = error_summary(cause)  # what is recorded and logged: no row data
        super().__init__(f"event {position}: {self.summary}")
        self.position = position
        self.cause = cause


class _EventFailed(Exception):
    def __init__(self, position: int, cause: BaseException) -> None:
        super().__init__(position)
        self.position = position
        self.cause = cause


class Batches:
    def __init__(
        self,
        projection: Projection,
        engine: Engine,
        mapper: Mapper[Any],
        tracking: ProjectionTracking,
    ) -> None:
        self.projection = projection
        self.engine = engine
        self.mapper = mapper
        self.tracking = tracking
        self.topics = sorted(projection.handled_topics())

    def apply_batch(self, track: Track, limit: int, upto: int = MAX_POSITION) -> BatchResult:
        """Apply the next ``limit`` positions after the track's, in one transaction.

        Raises :class:`ProjectionFailure` naming the first event that cannot be
        applied, after committing the events before it.
        """
        try:
            return self._transaction(track, limit, upto, fast=True)
        except DATABASE_UNAVAILABLE:
            raise
        except _EventFailed as failed:
            raise self._stop_before(track, failed, limit) from failed.cause
        except Exception:  # a write failed when the pipeline synced: which one?
            return self._diagnose(track, limit, upto)

    def apply_within(self, conn: Connection, track: Track, limit: int, upto: int) -> BatchResult:
        """Apply a batch inside the caller's transaction (locking the track's row)."""
        position = self.tracking.lock_position(conn, track.name)
        return self._apply(conn, track, position, limit, upto, fast=True)

    def _transaction(self, track: Track, limit: int, upto: int, *, fast: bool) -> BatchResult:
        with self.engine.begin() as conn:
            position = self.tracking.lock_position(conn, track.name)
            return self._apply(conn, track, position, limit, upto, fast=fast)

    def _apply(
        self, conn: Connection, track: Track, position: int, limit: int, upto: int, *, fast: bool
    ) -> BatchResult:
        window_end = min(upto, position + limit)
        params = {"after": position, "window_end": window_end, "topics": self.topics}
        # Straight from psycopg, binary: the state arrives as bytes, not hex to decode.
        fetched = driver_connection(conn).execute(SELECT_BATCH, params, binary=True)
        result = fetched.fetchall()  # at least the `head` row
        rows = [r for r in result if r[1] is not None]
        reachable = min(upto, int(result[0][0]))
        last = max(position, min(window_end, reachable))
        pipeline = pipelined(conn) if fast else nullcontext()
        with _tables_of(conn, track), pipeline, deferring(conn):
            self._handle(conn, rows, fast=fast)
        if last > position:
            self.tracking.advance(conn, track.name, last, track.state)
        return BatchResult(last, len(rows), full=last < reachable)

    def _handle(self, conn: Connection, rows: list[tuple[Any, ...]], *, fast: bool) -> None:
        # Pipelined, a database error may belong to any earlier write of the batch.
        unattributable = DATABASE_ERRORS if fast else ()
        # Unpipelined, changes are written after each event, so that an error names
        # it; pipelined, every FLUSH_EVERY events, so that PostgreSQL writes one
        # stretch while Python decodes the next.
        flush_every = FLUSH_EVERY if fast else 1
        prefetch_keys(self.mapper, ((row[2], row[5]) for row in rows))  # one query a batch
        for count, (_, position, originator_id, version, topic, state) in enumerate(rows, 1):
            try:
                stored = StoredEvent(
                    originator_id=originator_id,
                    originator_version=version,
                    topic=topic,
                    state=state,
                )
                self.projection.process_event(self.mapper.to_domain_event(stored), conn)
                if count % flush_every == 0:
                    flush_deferred(conn)
            except (*DATABASE_UNAVAILABLE, *unattributable):
                raise
            except Exception as error:
                raise _EventFailed(position, error) from error

    def _diagnose(self, track: Track, limit: int, upto: int) -> BatchResult:
        """Re-run the batch one statement at a time to find the event that fails."""
        try:
            return self._transaction(track, limit, upto, fast=False)
        except _EventFailed as failed:
            raise self._stop_before(track, failed, limit) from failed.cause

    def _stop_before(self, track: Track, failed: _EventFailed, limit: int) -> ProjectionFailure:
        """Commit the events before the failing one (finding an earlier culprit if need be)."""
        while True:
            try:
                self._transaction(track, limit, failed.position - 1, fast=False)
            except _EventFailed as earlier:
                failed = earlier
            else:
                return ProjectionFailure(failed.position, failed.cause)


@contextmanager
def _tables_of(conn: Connection, track: Track) -> Iterator[None]:
    """Within the block, unqualified table names resolve to the track's schema first."""
    if track.schema is None:
        yield
        return
    previous = conn.execute(CURRENT_SEARCH_PATH).scalar_one()
    conn.execute(SEARCH_PATH, {"path": f"{quote(track.schema)}, {LIVE_SCHEMA}"})
    yield
    conn.execute(SEARCH_PATH, {"path": previous})
