"""`pcem projections rebuild|verify` as an operator runs them."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from pcem.projections.people_and_dates import PeopleAndDatesProjection
from pcem.projector.runner import ProjectionRunner
from pcem.settings import Settings
from tests.integration.projection_helpers import Database, pcem_env
from tests.integration.table_helpers import assert_aligned
from tests.integration.test_cli import pcem

# Each test starts `pcem projections` as a process (see tests/integration/test_cli.py).
pytestmark = pytest.mark.slow


@pytest.fixture
def db(isolated: Settings) -> Iterator[Database]:
    database = Database(isolated)
    database.write_history("u1", 20)
    ProjectionRunner(
        projection=PeopleAndDatesProjection(),
        engine=database.engine,
        app=database.app,
        listen_dsn="",
    ).catch_up()
    yield database
    database.close()


def run(db: Database, *args: str) -> subprocess.CompletedProcess[str]:
    return pcem("projections", *args, env=pcem_env(db.settings))


def test_verify_reports_identical_tables_with_exit_status_0(db: Database) -> None:
    result = run(db, "verify", "people_and_dates")

    assert result.returncode == 0, result.stderr
    assert f"compared at event {db.head()}" in result.stdout
    assert result.stdout.count("identical") == len(PeopleAndDatesProjection.tables)
    assert not {s for s in db.schemas() if s.startswith("verify_")}
    assert db.tracking("people_and_dates@verify") is None


def test_verify_accepts_the_former_name_people(db: Database) -> None:
    result = run(db, "verify", "people")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("people_and_dates, compared at event")


def test_verify_names_each_row_that_differs_with_exit_status_1(db: Database) -> None:
    person = db.scalar("SELECT min(id::text) FROM people")
    relationship = db.scalar("SELECT min(id::text) FROM relationships")
    db.execute("UPDATE people SET first_name = 'Tampered' WHERE id = CAST(:id AS uuid)", id=person)
    db.execute("DELETE FROM relationships WHERE id = CAST(:id AS uuid)", id=relationship)

    result = run(db, "verify", "people_and_dates")

    assert result.returncode == 1
    assert f"differs       id={person}" in result.stdout
    assert f"only rebuilt  id={relationship}" in result.stdout


def test_verify_prints_a_table_whose_columns_line_up(db: Database) -> None:
    db.execute("DELETE FROM relationships")  # a row count that differs in width

    lines = run(db, "verify", "people_and_dates").stdout.splitlines()

    tables = lines[1 : 2 + len(PeopleAndDatesProjection.tables)]
    assert [line.split()[0] for line in tables[1:]] == list(PeopleAndDatesProjection.tables)
    assert_aligned(
        tables,
        left=["TABLE", "LIVE CHECKSUM", "REBUILT CHECKSUM", "VERDICT"],
        right=["LIVE ROWS", "REBUILT ROWS"],
    )


def test_rebuild_of_an_unknown_projection_lists_the_known_ones(db: Database) -> None:
    result = run(db, "rebuild", "nothing-here")

    assert result.returncode == 2
    assert "there are: people" in result.stderr


def test_rebuild_all_rebuilds_every_projection(db: Database) -> None:
    before = db.checksums("people", "relationships")

    result = run(db, "rebuild", "--all")

    assert result.returncode == 0, result.stderr
    assert "people_and_dates: rebuilt and swapped in" in result.stderr
    assert db.checksums("people", "relationships") == before


def test_status_shows_a_failed_projection_with_its_event_and_error(db: Database) -> None:
    db.execute(
        "UPDATE projection_tracking SET state = 'failed', failed_position = 7,"
        " error = 'KeyError at pcem/projections/people.py:80 (_created)'"
        " WHERE name = 'people_and_dates'"
    )

    result = run(db, "status")

    assert "failed" in result.stdout
    assert (
        "failed at event 7: KeyError at pcem/projections/people.py:80 (_created)" in result.stdout
    )
