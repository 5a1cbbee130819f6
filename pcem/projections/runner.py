"""Runs one projection: follows the event store, applies batches, tracks position.

Exactly one runner applies a given projection at a time, across every projector
process: the runner holds a PostgreSQL session advisory lock for as long as it
follows the log. A standby keeps trying; when the holder dies its connection
closes, the lock is released and a standby takes over.

Each batch of events and the new position commit in one transaction, so a crash
anywhere loses nothing and applies nothing twice: the next holder resumes from
the committed position.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import structlog
from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent
from sqlalchemy import Connection, Engine, text

from pcem.projections.base import Projection
from pcem.projections.tracking import ProjectionTracking

log = structlog.get_logger(__name__)

SELECT_AFTER = text(
    "SELECT notification_id, originator_id, originator_version, topic, state"
    " FROM pcem_events WHERE notification_id > :after"
    " ORDER BY notification_id LIMIT :limit"
)
LOCK_KEY = "SELECT pg_try_advisory_lock(hashtext('pcem.projection'), hashtext(%s))"


class ProjectionRunner:
    def __init__(
        self,
        *,
        projection: Projection,
        engine: Engine,
        app: Application,  # type: ignore[type-arg]  # only its mapper is used
        listen_dsn: str,
        batch_size: int = 500,
        idle_wait: float = 1.0,
        retry_wait: float = 5.0,
    ) -> None:
        self.projection = projection
        self.name = projection.name
        self.engine = engine
        self.mapper = app.mapper
        self.tracking = ProjectionTracking(engine)
        self.listen_dsn = listen_dsn
        self.batch_size = batch_size
        self.idle_wait = idle_wait
        self.retry_wait = retry_wait
        self.topics = projection.handled_topics()

    def run(self, stop: threading.Event) -> None:
        """Follow the event store until ``stop`` is set, surviving database outages."""
        self.tracking.ensure(self.name)
        while not stop.is_set():
            try:
                with self._leadership() as listener:
                    if listener is None:
                        stop.wait(self.idle_wait)  # another process runs it: stand by
                        continue
                    log.info("projection.leading", projection=self.name)
                    self._follow(listener, stop)
            except (psycopg.OperationalError, OSError) as error:
                log.warning(
                    "projection.database_unavailable", projection=self.name, error=str(error)
                )
                stop.wait(self.retry_wait)

    def catch_up(self) -> int:
        """Apply everything recorded so far (no lock, no listening); returns events applied."""
        total = 0
        while (applied := self.apply_batch()) > 0:
            total += applied
        return total

    def apply_batch(self) -> int:
        """Apply up to ``batch_size`` events after the tracked position, in one transaction."""
        with self.engine.begin() as conn:
            position = self.tracking.lock_position(conn, self.name)
            rows = conn.execute(SELECT_AFTER, {"after": position, "limit": self.batch_size}).all()
            for row in rows:
                self._apply(conn, row)
            if rows:
                self.tracking.advance(conn, self.name, rows[-1].notification_id)
        return len(rows)

    def _apply(self, conn: Connection, row: object) -> None:
        topic = row.topic  # type: ignore[attr-defined]
        if topic not in self.topics:
            return
        stored = StoredEvent(
            originator_id=row.originator_id,  # type: ignore[attr-defined]
            originator_version=row.originator_version,  # type: ignore[attr-defined]
            topic=topic,
            state=bytes(row.state),  # type: ignore[attr-defined]
        )
        self.projection.process_event(self.mapper.to_domain_event(stored), conn)

    def _follow(self, listener: psycopg.Connection[object], stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                applied = self.apply_batch()
            except (psycopg.OperationalError, OSError):
                raise
            except Exception as error:  # a poisoned event: stop this projection only
                self._fail(error)
                stop.wait(self.retry_wait)
                continue
            if applied < self.batch_size:
                self._wait_for_news(listener)

    def _fail(self, error: Exception) -> None:
        message = f"{type(error).__name__}: {error}"
        log.error("projection.failed", projection=self.name, error=message)
        self.tracking.mark_failed(self.name, message)

    def _wait_for_news(self, listener: psycopg.Connection[object]) -> None:
        for _ in listener.notifies(timeout=self.idle_wait, stop_after=1):
            pass

    @contextmanager
    def _leadership(self) -> Iterator[psycopg.Connection[object] | None]:
        """A connection that holds this projection's lock and listens, or None if taken."""
        with psycopg.connect(self.listen_dsn, autocommit=True) as conn:
            row = conn.execute(LOCK_KEY, (self.name,)).fetchone()
            if not (row and row[0]):
                yield None
                return
            conn.execute("LISTEN pcem_events")  # the channel eventsourcing NOTIFYs on insert
            yield conn
