"""Runs one projection: follows the event store, applies batches, tracks position.

Exactly one runner applies a given projection at a time, across every projector
process: the runner holds a PostgreSQL session advisory lock for as long as it
follows the log. A standby keeps trying; when the holder dies its connection
closes, the lock is released and a standby takes over.

Each batch of events and the new position commit in one transaction, so a crash
anywhere loses nothing and applies nothing twice: the next holder resumes from
the committed position. An event the projection cannot apply stops this
projection only: it is marked ``failed`` with that event's position and the
error, and retried until the cause is fixed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import structlog
from eventsourcing.application import Application
from sqlalchemy import Engine

from pcem.projections.base import Projection
from pcem.projector.batches import (
    DATABASE_UNAVAILABLE,
    Batches,
    BatchResult,
    ProjectionFailure,
    Track,
)
from pcem.projector.failures import error_summary
from pcem.projector.locks import holding
from pcem.projector.tracking import ProjectionTracking

log = structlog.get_logger(__name__)

EVENTS_CHANNEL = "pcem_events"  # eventsourcing NOTIFYs it on every insert


class ProjectionRunner:
    def __init__(
        self,
        *,
        projection: Projection,
        engine: Engine,
        app: Application[Any],  # only its mapper is used
        listen_dsn: str,
        batch_size: int = 500,
        idle_wait: float = 1.0,
        retry_wait: float = 5.0,
    ) -> None:
        self.name = projection.name
        self.tracking = ProjectionTracking(engine)
        self.batches = Batches(projection, engine, app.mapper, self.tracking)
        self.track = Track(projection.name)
        self.listen_dsn = listen_dsn
        self.batch_size = batch_size
        self.idle_wait = idle_wait
        self.retry_wait = retry_wait
        self.failing = False

    def run(self, stop: threading.Event) -> None:
        """Follow the event store until ``stop`` is set, surviving database outages."""
        while not stop.is_set():
            try:
                self.tracking.ensure(self.name)
                with self._leadership() as listener:
                    if listener is None:
                        stop.wait(self.idle_wait)  # another process runs it: stand by
                        continue
                    log.info("projection.leading", projection=self.name)
                    self._follow(listener, stop)
            except DATABASE_UNAVAILABLE as error:
                log.warning(
                    "projection.database_unavailable", projection=self.name, error=str(error)
                )
                stop.wait(self.retry_wait)

    def catch_up(self) -> int:
        """Apply everything recorded so far (no lock, no listening); returns events applied."""
        self.tracking.ensure(self.name)
        total = 0
        while True:
            result = self.apply_next()
            total += result.events
            if not result.full:
                return total

    def _follow(self, listener: psycopg.Connection[Any], stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                result = self.apply_next()
            except ProjectionFailure as failure:  # a poisoned event: stop this projection only
                self._fail(failure.summary, failure.position)
                stop.wait(self.retry_wait)
                continue
            except DATABASE_UNAVAILABLE:
                raise
            except Exception as error:  # not tied to one event: still this projection only
                self._fail(error_summary(error), None)
                stop.wait(self.retry_wait)
                continue
            self._resumed()
            if not result.full:
                self._wait_for_news(listener)

    def apply_next(self) -> BatchResult:
        """The next batch (a runner that must stay behind another may bound it)."""
        return self.batches.apply_batch(self.track, self.batch_size)

    def _fail(self, message: str, position: int | None) -> None:
        log.error("projection.failed", projection=self.name, position=position, error=message)
        self.tracking.mark_failed(self.name, message, position)
        self.failing = True

    def _resumed(self) -> None:
        if self.failing:
            log.info("projection.resumed", projection=self.name)
            self.failing = False

    def _wait_for_news(self, listener: psycopg.Connection[Any]) -> None:
        for _ in listener.notifies(timeout=self.idle_wait, stop_after=1):
            pass

    @contextmanager
    def _leadership(self) -> Iterator[psycopg.Connection[Any] | None]:
        """A connection that holds this projection's lock and listens, or None if taken."""
        with holding(self.listen_dsn, self.name, "projector") as conn:
            if conn is not None:
                conn.execute(f"LISTEN {EVENTS_CHANNEL}")
            yield conn
