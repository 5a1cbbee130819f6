"""`pcem projector`: one runner thread per projection, and one for rebuilds, until told to stop."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import structlog
from eventsourcing.application import Application
from sqlalchemy import Engine

from pcem.projections.catalog import all_projections
from pcem.projector.horizon_keeper import keep_horizon
from pcem.projector.rebuild_worker import RebuildWorker
from pcem.projector.runner import ProjectionRunner

log = structlog.get_logger(__name__)


def run_projector(
    engine: Engine,
    app: Application[Any],
    listen_dsn: str,
    stop: threading.Event,
    *,
    followers: Sequence[ProjectionRunner] = (),
    started: Callable[[], None] = lambda: None,
) -> None:
    """Follow ``app``'s event store into every projection, and run ``followers``
    (consumers that are not projections: never rebuilt), until ``stop`` is set;
    ``started`` is called once every thread runs."""
    threads = [
        threading.Thread(
            target=ProjectionRunner(
                projection=projection, engine=engine, app=app, listen_dsn=listen_dsn
            ).run,
            args=(stop,),
            name=f"projection-{projection.name}",
        )
        for projection in all_projections()
    ]
    threads += [
        threading.Thread(target=runner.run, args=(stop,), name=f"follower-{runner.name}")
        for runner in followers
    ]
    threads.append(
        threading.Thread(target=keep_horizon, args=(engine, stop), name="occurrence-horizon")
    )
    worker = RebuildWorker(all_projections(), engine, app.mapper, listen_dsn)
    threads.append(threading.Thread(target=worker.run, args=(stop,), name="rebuilds"))
    for thread in threads:
        thread.start()
    log.info("projector.started", threads=[t.name for t in threads])
    started()
    for thread in threads:
        thread.join()
    log.info("projector.stopped")
