"""Batches fold each row's events into one set-based write; the tables must come
out exactly as when every event is applied on its own."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from pcem.aggregates.settings import Preferences
from pcem.commands.calendar import CalendarApplication
from pcem.commands.settings import SettingsApplication
from pcem.eventstore.config import eventsourcing_env
from pcem.projections.people import PeopleProjection
from pcem.projections.rebuild import Rebuild
from pcem.projections.runner import ProjectionRunner
from pcem.settings import Settings
from tests.integration.projection_helpers import Database

TABLES = ("people", "relationships", "events", "occurrences", "user_settings")


@pytest.fixture
def db(isolated: Settings) -> Iterator[Database]:
    database = Database(isolated)
    yield database
    database.close()


def write_calendar_history(db: Database, user_id: str) -> None:
    """People with events whose names, dates, zone and visibility all change."""
    env = eventsourcing_env(db.settings.require_database())
    calendar, settings = CalendarApplication(env=env), SettingsApplication(env=env)
    people, today = db.app, datetime.now(UTC).date()
    try:
        for i in range(12):
            person = people.create_person(
                user_id, first_name=f"Cal{i}", last_name="X", primary_contact=None, metadata={}
            ).aggregate
            birthday = calendar.create_event(
                user_id,
                person_id=person.id,
                title="Birthday",
                event_date=date(1990, today.month, min(today.day, 28)) + timedelta(days=i),
                is_special_event=True,
                recurrence="yearly",
                notes="",
            ).aggregate
            calendar.create_event(
                user_id,
                person_id=person.id,
                title="Call",
                event_date=datetime.now(UTC).replace(microsecond=0) + timedelta(days=i, hours=3),
                is_special_event=False,
                recurrence="weekly",
                notes="",
            )
            people.update_person(
                user_id, person.id, fields={"first_name": f"Renamed{i}"}, metadata_patch=None
            )
            if i % 3 == 0:
                calendar.update_event(user_id, birthday.id, {"recurrence": "monthly"})
            if i % 4 == 0:
                calendar.delete_event(user_id, birthday.id)
            if i % 5 == 0:
                people.delete_person(user_id, person.id)
            if i % 10 == 0:
                people.restore_person(user_id, person.id)
                people.update_person(
                    user_id, person.id, fields={"last_name": "Back"}, metadata_patch=None
                )
            if i == 6:
                settings.replace_settings(user_id, Preferences(timezone="Pacific/Kiritimati"))
    finally:
        calendar.close()
        settings.close()


def test_tables_are_the_same_whether_events_are_folded_or_applied_one_by_one(
    db: Database,
) -> None:
    db.write_history("u1", 40)
    write_calendar_history(db, "u1")
    write_calendar_history(db, "u2")
    ProjectionRunner(
        projection=PeopleProjection(), engine=db.engine, app=db.app, listen_dsn="", batch_size=1
    ).catch_up()
    one_by_one = db.checksums(*TABLES)
    assert db.scalar("SELECT count(*) FROM occurrences WHERE person_name LIKE 'Renamed%'") > 0
    assert stale_names(db) == 0

    # One batch holding every event: each row is written once, in its final state.
    rebuilt = Rebuild(PeopleProjection(), db.engine, db.app.mapper, batch_size=1_000_000)
    assert rebuilt.run(threading.Event())

    assert db.checksums(*TABLES) == one_by_one
    assert stale_names(db) == 0


def stale_names(db: Database) -> int:
    """Occurrences that show anything but their person's current name."""
    return int(
        db.scalar(
            "SELECT count(*) FROM occurrences o JOIN people p ON p.id = o.person_id"
            " WHERE o.person_name <> trim(p.first_name || ' ' || p.last_name)"
        )
    )
