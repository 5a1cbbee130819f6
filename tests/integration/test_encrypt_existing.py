"""`pcem events encrypt`: what was stored in clear before encryption ends sealed, each
subject with its key, and a run killed half-way is finished by the next one."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text

from pcem.aggregates.event import CalendarEvent
from pcem.aggregates.person import Person
from pcem.commands.people import PeopleApplication
from pcem.eventstore.config import eventsourcing_env
from pcem.settings import Settings
from tests.integration.projection_helpers import Database, pcem_env, start_pcem
from tests.polling import wait_until

pytestmark = pytest.mark.slow  # real `pcem` processes

CLEAR_MAPPER = {"MAPPER_TOPIC": "eventsourcing.persistence:Mapper"}
IS_CLEAR = "position('\\x00'::bytea in state) = 0"


@pytest.fixture
def db(isolated: Settings) -> Iterator[Database]:
    database = Database(isolated)
    yield database
    database.close()


def written_in_clear(settings: Settings, people: int) -> list[Person]:
    """People (each with a birthday, renamed once) as a PCEM without encryption wrote them."""
    env = eventsourcing_env(settings.require_database(), settings.require_master_key())
    old = PeopleApplication(env={**env, **CLEAR_MAPPER})
    made = []
    for n in range(people):
        person = Person.create(user_id="u1", actor="u1", first_name=f"Clearname{n}")
        birthday = CalendarEvent.create(
            actor="u1", person=person, title="Birthday", event_date=date(1990, 1, 1)
        )
        person.attach_event("u1", birthday.id)
        person.update("u1", {"last_name": f"Clearsurname{n}"})
        old.save(person, birthday)
        made.append(person)
    old.close()
    return made


def clear_count(db: Database) -> int:
    return int(db.scalar(f"SELECT count(*) FROM pcem_events WHERE {IS_CLEAR}"))


def encrypt(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pcem.cli.main", "events", "encrypt", *args],
        env=pcem_env(settings),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_events_stored_in_clear_end_sealed_with_a_key_for_each_subject(
    isolated: Settings, db: Database
) -> None:
    # given
    people = written_in_clear(isolated, 5)
    assert clear_count(db) == 5 * 4

    # when
    result = encrypt(isolated, "--batch", "3")

    # then
    assert result.returncode == 0, result.stderr
    assert "20 events sealed" in result.stdout
    assert clear_count(db) == 0
    assert b"Clearname" not in _all_states(db)
    for n, person in enumerate(people):
        again: Any = db.app.repository.get(person.id)
        assert (again.first_name, again.last_name) == (f"Clearname{n}", f"Clearsurname{n}")
    with db.engine.connect() as conn:
        keys = conn.execute(text("SELECT person_id, count(*) FROM subject_keys GROUP BY 1")).all()
    assert sorted(keys) == sorted((p.id, 2) for p in people)  # the person and their date


def test_a_run_killed_half_way_is_finished_by_the_next(isolated: Settings, db: Database) -> None:
    # given: a run stopped with SIGKILL after its first batches committed
    written_in_clear(isolated, 150)
    total = clear_count(db)
    run = start_pcem(isolated, "events", "encrypt", "--batch", "5", stdout=subprocess.DEVNULL)
    try:
        wait_until(lambda: clear_count(db) < total, 60, "a first batch sealed")
        run.send_signal(signal.SIGKILL)
    finally:
        run.wait(timeout=30)
    left = clear_count(db)
    assert 0 < left < total, "the test needs a run stopped half-way"

    # when
    result = encrypt(isolated)

    # then
    assert result.returncode == 0, result.stderr
    assert f"{left} events sealed" in result.stdout
    assert clear_count(db) == 0
    assert b"Clearname" not in _all_states(db)
    assert db.scalar("SELECT count(*) FROM subject_keys") == 300


def _all_states(db: Database) -> bytes:
    with db.engine.connect() as conn:
        return b"".join(bytes(s) for (s,) in conn.execute(text("SELECT state FROM pcem_events")))
