"""`pcem projections rebuild` killed -9 mid-build or mid-swap: the API's tables stay
whole, and running it again finishes the job."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator

import pytest

from pcem.projections.people_and_dates import PeopleAndDatesProjection
from pcem.projector.runner import ProjectionRunner
from pcem.settings import Settings
from tests.integration.projection_helpers import Database, start_pcem
from tests.polling import wait_until

pytestmark = pytest.mark.slow

TABLES = ("people", "relationships")
SWAP_WAITING = (
    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
    " WHERE NOT l.granted AND l.relation = 'people'::regclass"
    " AND a.application_name LIKE 'pcem rebuild %'"
)


@pytest.fixture
def db(isolated: Settings) -> Iterator[Database]:
    database = Database(isolated)
    database.write_people("u1", 20_000, batch=500)
    database.write_history("u2", 20)
    ProjectionRunner(
        projection=PeopleAndDatesProjection(),
        engine=database.engine,
        app=database.app,
        listen_dsn="",
    ).catch_up()
    yield database
    database.close()


def start_rebuild(db: Database, *options: str) -> subprocess.Popen[str]:
    return start_pcem(
        db.settings, "projections", "rebuild", "people_and_dates", *options, stderr=subprocess.PIPE
    )


def kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def finish(process: subprocess.Popen[str]) -> str:
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    return stderr


def test_a_rebuild_killed_mid_build_resumes_where_it_stopped(db: Database) -> None:
    live, live_position = db.checksums(*TABLES), db.position("people_and_dates")
    process = start_rebuild(db, "--batch-size", "100")
    wait_until(
        lambda: db.position("people_and_dates@rebuild") > 0, 60, "the rebuild to make progress"
    )
    kill(process)
    stopped_at = db.position("people_and_dates@rebuild")
    assert 0 < stopped_at < db.head(), "the kill should land mid-build"
    assert (db.checksums(*TABLES), db.position("people_and_dates")) == (live, live_position)

    stderr = finish(start_rebuild(db))

    assert f"0/{db.head() - stopped_at:,} events" in stderr  # it went on from there
    assert "events/s" in stderr and "ETA" in stderr
    assert "rebuilt and swapped in" in stderr
    assert db.checksums(*TABLES) == live


def test_a_rebuild_killed_while_waiting_to_swap_leaves_the_live_tables_whole(
    db: Database,
) -> None:
    live = db.checksums(*TABLES)
    with db.engine.connect() as reader:  # a long-running query holds the live table
        reader.exec_driver_sql("BEGIN; SELECT count(*) FROM people")
        process = start_rebuild(db)
        wait_until(lambda: db.scalar(SWAP_WAITING) == 1, 60, "the swap to wait for the lock")
        kill(process)
        reader.exec_driver_sql("COMMIT")

    assert db.checksums(*TABLES) == live
    assert db.tracking("people_and_dates@rebuild").position == db.head()  # built, not swapped
    finish(start_rebuild(db))
    assert db.checksums(*TABLES) == live
    assert db.tracking("people_and_dates@rebuild") is None
