"""Blue/green rebuild of a projection's read tables, while they keep serving.

1. *Prepare*: copy the live table definitions into schema ``rebuild_<name>``
   (``shadow.py``) and start tracking row ``<name>@rebuild`` at position 0, in
   one transaction - or, if both exist and still match the live definitions,
   resume from that row's position.
2. *Build*: apply every event through the projection's own handlers, in
   batches, with the shadow schema first on the search path; each batch and
   the row's new position commit together, so an interruption loses nothing.
3. *Swap*, in one transaction: lock the live tracking row (the live runner
   waits on it, so it never writes to the wrong tables) and the live tables,
   apply the events that arrived meanwhile, move the live tables out and the
   shadow tables in, give the live row the rebuild's position, drop the old
   tables. Queries see the old tables until the commit and the new ones after.

Nothing is sent or triggered: handlers only write rows (see ``base.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import psycopg.errors
import sqlalchemy.exc
import structlog
from eventsourcing.persistence import Mapper
from sqlalchemy import Connection, Engine

from pcem.projections.base import Projection
from pcem.projector import shadow
from pcem.projector.batches import (
    DATABASE_UNAVAILABLE,
    MAX_POSITION,
    Batches,
    ProjectionFailure,
    Track,
)
from pcem.projector.shadow import LIVE_SCHEMA, ddl, qualified, quote
from pcem.projector.tracking import ProjectionTracking

log = structlog.get_logger(__name__)

REBUILD = "@rebuild"
SWAP_LOCK_TIMEOUT = "1s"  # while the swap waits for the tables, new queries queue behind it
SWAP_ATTEMPTS = 20

Progress = Callable[[int, int], None]  # (position, head)

# Events per transaction: large batches keep both cores busy (one transaction
# and its commit per 10,000 events, not per 2,000: +25 % events/s measured).
REBUILD_BATCH = 10_000


class RebuildError(Exception):
    """A rebuild that cannot go on; the message says why."""


class _DefinitionChangedError(RebuildError):
    """A migration changed the live tables while the shadow copies were being built."""


def rebuild_track(name: str) -> Track:
    return Track(f"{name}{REBUILD}", schema=f"rebuild_{name}", state="rebuilding")


def _no_progress(position: int, head: int) -> None:
    """Progress goes nowhere unless asked for."""


class Rebuild:
    """Rebuilds one projection; the caller holds the advisory lock on its track."""

    def __init__(
        self,
        projection: Projection,
        engine: Engine,
        mapper: Mapper[Any],
        *,
        batch_size: int = REBUILD_BATCH,
        track: Track | None = None,
    ) -> None:
        if not projection.tables:
            raise RebuildError(f"projection {projection.name!r} declares no tables")
        self.name = projection.name
        self.tables = projection.tables
        self.engine = engine
        self.tracking = ProjectionTracking(engine)
        self.batches = Batches(projection, engine, mapper, self.tracking)
        self.track = track or rebuild_track(projection.name)
        self.batch_size = batch_size
        self.analyzed = False

    def run(self, stop: threading.Event, progress: Progress = _no_progress) -> bool:
        """Build and swap; False if ``stop`` came first (run again to resume)."""
        self.prepare()
        for attempt in range(SWAP_ATTEMPTS):
            if not self.build(stop, progress):
                return False
            if not self.analyzed:
                self._analyze()
            try:
                if self._swap():
                    log.info("projection.rebuilt", projection=self.name)
                    return True
            except _DefinitionChangedError:
                log.warning("projection.rebuild_restarted", projection=self.name)
                self.prepare()  # the copies no longer match: start them again
            stop.wait(min(0.1 * 2**attempt, 5.0))
        raise RebuildError(
            f"could not lock the live tables of {self.name!r} in {SWAP_ATTEMPTS} attempts;"
            " a long-running transaction may be holding them"
        )

    def prepare(self) -> None:
        """Resume a rebuild whose copies still match the live tables, or start clean."""
        self.tracking.ensure(self.name)
        self.analyzed = False
        with self.engine.begin() as conn:
            shadow.check_rebuildable(conn, self.tables)
            row = self.tracking.lock_row(conn, self.track.name)
            if row is not None and row.state != "requested" and self._shadow_matches(conn):
                return
            shadow.create_shadow(conn, self._schema, self.tables)
            self.tracking.restart(conn, self.track.name, self.track.state)
        log.info("projection.rebuild_started", projection=self.name, track=self.track.name)

    def build(
        self, stop: threading.Event, progress: Progress = _no_progress, upto: int = MAX_POSITION
    ) -> bool:
        """Apply batches until caught up with the head or ``upto`` (True) or stopped (False)."""
        progress(self.tracking.position(self.track.name), self.tracking.head())
        while not stop.is_set():
            try:
                result = self.batches.apply_batch(self.track, self.batch_size, upto)
            except ProjectionFailure as failure:
                self.tracking.mark_failed(self.track.name, failure.summary, failure.position)
                raise
            progress(result.after, self.tracking.head())
            if not result.full:
                return True
        return False

    def discard(self, conn: Connection) -> None:
        ddl(conn, f"DROP SCHEMA IF EXISTS {quote(self._schema)} CASCADE")
        self.tracking.remove(conn, self.track.name)

    @property
    def _schema(self) -> str:
        assert self.track.schema is not None
        return self.track.schema

    def _shadow_matches(self, conn: Connection) -> bool:
        return shadow.schema_exists(conn, self._schema) and shadow.signature(
            conn, self._schema, self.tables
        ) == shadow.signature(conn, LIVE_SCHEMA, self.tables)

    def _analyze(self) -> None:
        """Statistics before the swap, so the first queries on the new tables plan well."""
        with self.engine.begin() as conn:
            for table in self.tables:
                ddl(conn, f"ANALYZE {qualified(self._schema, table)}")
        self.analyzed = True

    def _swap(self) -> bool:
        """The atomic exchange; False if the live tables could not be locked in time."""
        try:
            with self.engine.begin() as conn:
                conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{SWAP_LOCK_TIMEOUT}'")
                live_position = self.tracking.lock_position(conn, self.name)
                live = ", ".join(qualified(LIVE_SCHEMA, t) for t in self.tables)
                ddl(conn, f"LOCK TABLE {live} IN ACCESS EXCLUSIVE MODE")
                if not self._shadow_matches(conn):
                    raise _DefinitionChangedError(self.name)
                position = self._catch_up(conn)
                if position < live_position:
                    raise RebuildError(f"rebuild at {position} is behind live ({live_position})")
                self._exchange(conn)
                self.tracking.advance(conn, self.name, position)
                self.tracking.remove(conn, self.track.name)
        except (sqlalchemy.exc.DBAPIError, psycopg.Error) as error:
            if isinstance(getattr(error, "orig", error), psycopg.errors.LockNotAvailable):
                log.info("projection.swap_waiting", projection=self.name)
                return False
            if isinstance(error, DATABASE_UNAVAILABLE):
                raise
            raise RebuildError(
                f"the swap of {self.name!r} failed, nothing changed: {error}"
            ) from error
        return True

    def _catch_up(self, conn: Connection) -> int:
        while True:
            result = self.batches.apply_within(conn, self.track, self.batch_size, MAX_POSITION)
            if not result.full:
                return result.after

    def _exchange(self, conn: Connection) -> None:
        retired = quote(f"retired_{self.name}")
        ddl(conn, f"CREATE SCHEMA {retired}")
        for table in self.tables:
            ddl(conn, f"ALTER TABLE {qualified(LIVE_SCHEMA, table)} SET SCHEMA {retired}")
        for table in self.tables:
            ddl(conn, f"ALTER TABLE {qualified(self._schema, table)} SET SCHEMA {LIVE_SCHEMA}")
        ddl(conn, f"DROP TABLE {', '.join(f'{retired}.{quote(t)}' for t in self.tables)}")
        ddl(conn, f"DROP SCHEMA {retired}")
        ddl(conn, f"DROP SCHEMA {quote(self._schema)}")
