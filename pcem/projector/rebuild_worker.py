"""`pcem projector` finishes every requested rebuild: asked for over the API, or
left unfinished by a `pcem projections rebuild` that was interrupted.

Each is done by whichever process takes its advisory lock first, so two
projectors never rebuild the same projection at once.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import structlog
from eventsourcing.persistence import Mapper
from sqlalchemy import Engine

from pcem.projections.base import Projection
from pcem.projector.batches import DATABASE_UNAVAILABLE, ProjectionFailure
from pcem.projector.locks import holding
from pcem.projector.rebuild import REBUILD, Rebuild, RebuildError
from pcem.projector.shadow import ShadowError
from pcem.projector.tracking import ProjectionTracking

log = structlog.get_logger(__name__)


class ProgressLog:
    """Rebuild progress as a log line every ``interval`` seconds."""

    def __init__(self, name: str, interval: float = 10.0) -> None:
        self.name = name
        self.interval = interval
        self.last = time.monotonic()

    def __call__(self, position: int, head: int) -> None:
        if time.monotonic() - self.last >= self.interval:
            self.last = time.monotonic()
            log.info(
                "projection.rebuild_progress", projection=self.name, position=position, head=head
            )


class RebuildWorker:
    def __init__(
        self,
        projections: list[Projection],
        engine: Engine,
        mapper: Mapper[Any],
        dsn: str,
        *,
        idle_wait: float = 1.0,
        retry_wait: float = 5.0,
    ) -> None:
        self.projections = {p.name: p for p in projections}
        self.engine = engine
        self.mapper = mapper
        self.dsn = dsn
        self.tracking = ProjectionTracking(engine)
        self.idle_wait = idle_wait
        self.retry_wait = retry_wait

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                for track_name in self.tracking.names_ending(REBUILD):
                    self._take(track_name, stop)
            except DATABASE_UNAVAILABLE as error:
                log.warning("projection.rebuild_database_unavailable", error=str(error))
            except Exception:  # keep the thread (and the projector) alive; try again later
                log.exception("projection.rebuild_error")
                stop.wait(self.retry_wait)
            stop.wait(self.idle_wait)

    def _take(self, track_name: str, stop: threading.Event) -> None:
        projection = self.projections.get(track_name.removesuffix(REBUILD))
        if projection is None or stop.is_set():
            return
        with holding(self.dsn, track_name, "rebuild") as held:
            if held is not None:
                self._rebuild(projection, track_name, stop)

    def _rebuild(self, projection: Projection, track_name: str, stop: threading.Event) -> None:
        try:
            Rebuild(projection, self.engine, self.mapper).run(stop, ProgressLog(projection.name))
        except ProjectionFailure as failure:  # already recorded on the rebuild's row
            log.error(
                "projection.rebuild_failed",
                projection=projection.name,
                position=failure.position,
                error=failure.summary,
            )
            stop.wait(self.retry_wait)
        except (RebuildError, ShadowError) as error:
            log.error("projection.rebuild_failed", projection=projection.name, error=str(error))
            self.tracking.mark_failed(track_name, str(error), None)
            stop.wait(self.retry_wait)
