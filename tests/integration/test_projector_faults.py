"""The projector killed mid-stream and restarted loses and duplicates nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from pcem.aggregates.person import Person
from pcem.commands.people import PeopleApplication
from pcem.eventstore.config import eventsourcing_env
from pcem.migrate import migrate
from pcem.settings import Settings
from tests.conftest import settings_for
from tests.servers import PostgresServer, RedisServer

pytestmark = pytest.mark.slow


@pytest.fixture
def isolated(postgres: PostgresServer, redis_server: RedisServer) -> Iterator[Settings]:
    """A database of its own: no in-process projector competes for the lock here."""
    with postgres.fresh_database() as url:
        settings = settings_for(url, redis_server.url)
        migrate(settings.require_database())
        yield settings


def start_projector(settings: Settings) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PCEM_DATABASE_URL": settings.require_database().url,
        "PCEM_REDIS_URL": settings.require_redis().url,
        "PCEM_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen([sys.executable, "-m", "pcem.cli.main", "projector"], env=env)


def write_people(app: PeopleApplication, user_id: str, count: int, batch: int = 50) -> None:
    for start in range(0, count, batch):
        people = [
            Person.create(user_id=user_id, actor=user_id, first_name=f"P{start + i}")
            for i in range(min(batch, count - start))
        ]
        app.save(*people)


def wait_until(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def test_killed_projector_resumes_without_losing_or_repeating_events(isolated: Settings) -> None:
    engine = create_engine(isolated.require_database().sqlalchemy_url)
    app = PeopleApplication(env=eventsourcing_env(isolated.require_database()))
    position = text(
        "SELECT coalesce(max(position), 0) FROM projection_tracking WHERE name = 'people'"
    )
    head = text("SELECT coalesce(max(notification_id), 0) FROM pcem_events")
    rows = text("SELECT count(*), count(DISTINCT id) FROM people WHERE user_id = 'victim'")

    def scalar(statement: object) -> int:
        with engine.connect() as conn:
            return int(conn.execute(statement).scalar_one())  # type: ignore[arg-type]

    write_people(app, "victim", 3000)
    writer = threading.Thread(target=write_people, args=(app, "victim", 3000))
    projector = start_projector(isolated)
    try:
        writer.start()  # events keep arriving while the projector works and dies
        wait_until(lambda: scalar(position) > 0, 30, "the projector to make progress")
        projector.send_signal(signal.SIGKILL)
        projector.wait(timeout=10)
        killed_at = scalar(position)
        assert 0 < killed_at < scalar(head), "the kill should land mid-stream"

        projector = start_projector(isolated)
        writer.join()
        wait_until(
            lambda: scalar(position) == scalar(head), 60, "the restarted projector to catch up"
        )
    finally:
        projector.kill()
        projector.wait(timeout=10)
        app.close()

    with engine.connect() as conn:
        total, distinct = conn.execute(rows).one()
    engine.dispose()
    assert total == distinct == 6000
