"""Projector processes killed mid-stream: nothing is lost, nothing applied twice."""

from __future__ import annotations

import signal
import subprocess
import threading
from collections.abc import Iterator

import pytest

from pcem.projector.tracking import ProjectionTracking
from pcem.settings import Settings
from tests.integration.projection_helpers import Database, start_pcem
from tests.polling import wait_until

pytestmark = pytest.mark.slow

ROWS = "SELECT count(*), count(DISTINCT id) FROM people WHERE user_id = 'victim'"


@pytest.fixture
def db(isolated: Settings) -> Iterator[Database]:
    database = Database(isolated)
    yield database
    database.close()


def start_projector(settings: Settings) -> subprocess.Popen[str]:
    return start_pcem(settings, "projector")


def stop(*processes: subprocess.Popen[str]) -> None:
    for process in processes:
        process.kill()
        process.wait(timeout=10)


def people_runner(db: Database) -> str | None:
    statuses = ProjectionTracking(db.engine).statuses()
    return next((s.runner for s in statuses if s.name == "people_and_dates"), None)


def caught_up(db: Database) -> bool:
    return db.position("people_and_dates") == db.head()


def test_killed_projector_resumes_without_losing_or_repeating_events(db: Database) -> None:
    db.write_people("victim", 3000)
    writer = threading.Thread(target=db.write_people, args=("victim", 3000))
    projector = start_projector(db.settings)
    try:
        writer.start()  # events keep arriving while the projector works and dies
        wait_until(
            lambda: db.position("people_and_dates") > 0, 30, "the projector to make progress"
        )
        projector.send_signal(signal.SIGKILL)
        projector.wait(timeout=10)
        killed_at = db.position("people_and_dates")
        assert 0 < killed_at < db.head(), "the kill should land mid-stream"

        projector = start_projector(db.settings)
        writer.join()
        wait_until(lambda: caught_up(db), 60, "the restarted projector to catch up")
    finally:
        stop(projector)

    total, distinct = db.row(ROWS)
    assert total == distinct == 6000


def test_of_two_projectors_one_applies_and_the_other_takes_over_when_it_is_killed(
    db: Database,
) -> None:
    db.write_people("victim", 2000)
    first, second = start_projector(db.settings), start_projector(db.settings)
    writer = threading.Thread(target=db.write_people, args=("victim", 4000, 20))
    try:
        wait_until(lambda: people_runner(db) is not None, 30, "one projector to lead")
        writer.start()
        leader = people_runner(db)
        leader_process = first if leader.endswith(f":{first.pid}") else second  # type: ignore[union-attr]
        standby = second if leader_process is first else first
        wait_until(lambda: db.position("people_and_dates") > 0, 30, "the leader to make progress")
        assert writer.is_alive(), "the standby should have events left to apply"
        leader_process.send_signal(signal.SIGKILL)
        leader_process.wait(timeout=10)

        wait_until(
            lambda: str(people_runner(db)).endswith(f":{standby.pid}"), 30, "the standby to lead"
        )
        writer.join()
        wait_until(lambda: caught_up(db), 60, "the standby to catch up")
        assert standby.poll() is None
    finally:
        stop(first, second)

    total, distinct = db.row(ROWS)
    assert total == distinct == 6000
