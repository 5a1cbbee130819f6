"""A poisoned event stops only its projection, says where and why, and resumes once fixed."""

from __future__ import annotations

from collections.abc import Iterator
from functools import singledispatchmethod
from typing import Any

import pytest
from sqlalchemy import Connection, text
from structlog.testing import capture_logs

from pcem.aggregates.person import Person
from pcem.projections.base import Projection
from pcem.projections.people_and_dates import PeopleAndDatesProjection
from pcem.projections.writes import write
from pcem.settings import Settings
from tests.integration.projection_helpers import Database, pcem_env, running
from tests.integration.test_cli import pcem
from tests.polling import wait_until


class CountingProjection(Projection):
    """A second projection, to show the others carry on."""

    name = "counting"
    tables = ("counted",)
    INSERT = text("INSERT INTO counted (id) VALUES (:id)")

    @singledispatchmethod
    def process_event(self, event: Any, conn: Connection) -> None:
        """Only creations are counted."""

    @process_event.register
    def _created(self, event: Person.Created, conn: Connection) -> None:
        write(conn, self.INSERT, {"id": event.originator_id})


POISON_TRIGGER = """
CREATE FUNCTION reject_poison() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.first_name = 'Poison' THEN RAISE EXCEPTION 'poisoned row %', NEW.id; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER reject_poison BEFORE INSERT ON people FOR EACH ROW EXECUTE FUNCTION reject_poison();
"""


@pytest.fixture
def db(isolated: Settings) -> Iterator[Database]:
    database = Database(isolated)
    database.execute("CREATE TABLE counted (id uuid PRIMARY KEY)")
    yield database
    database.close()


def failed(db: Database, name: str) -> bool:
    row = db.tracking(name)
    return row is not None and row.state == "failed"


def test_a_poisoned_event_stops_only_its_projection_with_position_and_error(
    db: Database,
) -> None:
    db.execute(POISON_TRIGGER)
    for name in ("Ada", "Grace", "Alan"):
        db.create_person(name)
    poison = db.create_person("Poison")
    for name in ("Edsger", "Barbara"):
        db.create_person(name)

    with running(db, PeopleAndDatesProjection(), CountingProjection()):
        wait_until(lambda: failed(db, "people_and_dates"), 30, "people_and_dates to fail")
        wait_until(lambda: db.position("counting") == db.head(), 30, "counting to catch up")

        people = db.tracking("people_and_dates")
        assert people.failed_position == poison
        assert people.position == poison - 1
        assert people.error == "RaiseException, SQLSTATE P0001"  # the position is beside it
        assert db.scalar("SELECT count(*) FROM people") == 3
        assert db.scalar("SELECT count(*) FROM counted") == 6
        assert db.tracking("counting").state == "running"


UNIQUE_NAMES = "CREATE UNIQUE INDEX people_unique_first_name ON people (first_name)"


def test_a_failure_records_what_went_wrong_but_no_row_data_and_says_it_once(
    db: Database,
) -> None:
    db.execute(UNIQUE_NAMES)
    db.create_person("Ada")
    twin = db.create_person("Ada")  # the DETAIL would quote it: Key (first_name)=(Ada)

    with capture_logs() as logged, running(db, PeopleAndDatesProjection()):
        wait_until(lambda: failed(db, "people_and_dates"), 30, "people_and_dates to fail")
        people = db.tracking("people_and_dates")
    status = pcem("projections", "status", env=pcem_env(db.settings))

    summary = "UniqueViolation, SQLSTATE 23505, constraint people_unique_first_name, table people"
    assert (people.error, people.failed_position) == (summary, twin)
    assert f"  failed at event {twin}: {summary}" in status.stdout.splitlines()
    assert "Ada" not in status.stdout and "Ada" not in str(logged)
    failures = [e for e in logged if e["event"] == "projection.failed"]
    assert failures and all((e["error"], e["position"]) == (summary, twin) for e in failures)


def test_a_failed_projection_resumes_from_its_position_once_the_cause_is_fixed(
    db: Database,
) -> None:
    db.execute(POISON_TRIGGER)
    db.create_person("Ada")
    db.create_person("Poison")
    db.create_person("Grace")

    with running(db, PeopleAndDatesProjection()):
        wait_until(lambda: failed(db, "people_and_dates"), 30, "people_and_dates to fail")
        db.execute("DROP TRIGGER reject_poison ON people")  # the fix
        wait_until(
            lambda: db.position("people_and_dates") == db.head(), 30, "people_and_dates to resume"
        )

    people = db.tracking("people_and_dates")
    assert (people.state, people.error, people.failed_position) == ("running", None, None)
    names = db.scalar("SELECT string_agg(first_name, ',' ORDER BY first_name) FROM people")
    assert names == "Ada,Grace,Poison"


def test_an_event_that_cannot_be_decoded_fails_at_its_own_position(db: Database) -> None:
    db.create_person("Ada")
    good = db.create_person("Grace")
    db.execute(
        "INSERT INTO pcem_events (originator_id, originator_version, topic, state)"
        " SELECT gen_random_uuid(), 1, topic, 'not json' FROM pcem_events"
        " WHERE notification_id = :good",
        good=good,
    )
    corrupt = db.head()
    db.create_person("Alan")

    with running(db, PeopleAndDatesProjection()):
        wait_until(lambda: failed(db, "people_and_dates"), 30, "people_and_dates to fail")
        people = db.tracking("people_and_dates")
        assert (people.failed_position, people.position) == (corrupt, corrupt - 1)
        assert "MapperDeserialisationError" in people.error

        db.execute(  # repaired, as an upcaster or a data fix would
            "UPDATE pcem_events SET state = (SELECT state FROM pcem_events"
            " WHERE notification_id = :good) WHERE notification_id = :corrupt",
            good=good,
            corrupt=corrupt,
        )
        wait_until(
            lambda: db.position("people_and_dates") == db.head(), 30, "people_and_dates to resume"
        )

    assert db.tracking("people_and_dates").state == "running"
