"""`pcem projector`: one runner thread per projection, and one for rebuilds, until told to stop."""

from __future__ import annotations

import threading

import structlog

from pcem.bootstrap import Container
from pcem.projections.base import Projection
from pcem.projections.horizon_keeper import keep_horizon
from pcem.projections.people import PeopleProjection
from pcem.projections.rebuild_worker import RebuildWorker
from pcem.projections.runner import ProjectionRunner

log = structlog.get_logger(__name__)


def all_projections() -> list[Projection]:
    return [PeopleProjection()]


def build_runners(container: Container) -> list[ProjectionRunner]:
    database = container.settings.require_database()
    return [
        ProjectionRunner(
            projection=projection,
            engine=container.engine,
            app=container.people,
            listen_dsn=database.url,
        )
        for projection in all_projections()
    ]


def build_rebuild_worker(container: Container) -> RebuildWorker:
    database = container.settings.require_database()
    return RebuildWorker(all_projections(), container.engine, container.people.mapper, database.url)


def run_projector(container: Container, stop: threading.Event) -> None:
    threads = [
        threading.Thread(target=runner.run, args=(stop,), name=f"projection-{runner.name}")
        for runner in build_runners(container)
    ]
    threads.append(
        threading.Thread(
            target=keep_horizon, args=(container.engine, stop), name="occurrence-horizon"
        )
    )
    worker = build_rebuild_worker(container)
    threads.append(threading.Thread(target=worker.run, args=(stop,), name="rebuilds"))
    for thread in threads:
        thread.start()
    log.info("projector.started", threads=[t.name for t in threads])
    for thread in threads:
        thread.join()
    log.info("projector.stopped")
