"""Batches fold each row's events into one set-based write; the tables must come
out exactly as when every event is applied on its own."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import text

from pcem.aggregates.event import CalendarEvent
from pcem.aggregates.person import Person
from pcem.aggregates.settings import Preferences, UserSettings
from pcem.commands.calendar import CalendarApplication
from pcem.commands.settings import SettingsApplication
from pcem.eventstore.config import eventsourcing_env
from pcem.projections.people import PeopleChanges
from pcem.projections.people_and_dates import PeopleAndDatesProjection
from pcem.projections.writes import deferred, deferring
from pcem.projector.rebuild import Rebuild
from pcem.projector.runner import ProjectionRunner
from pcem.settings import Settings
from tests.integration.projection_helpers import Database

TABLES = (
    "people",
    "relationships",
    "events",
    "occurrences",
    "user_settings",
    "notification_schedule",
)


@pytest.fixture
def db(isolated: Settings) -> Iterator[Database]:
    database = Database(isolated)
    yield database
    database.close()


def write_calendar_history(db: Database, user_id: str) -> None:
    """People with events whose names, dates, zone and visibility all change."""
    env = eventsourcing_env(db.settings.require_database(), db.settings.require_master_key())
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


@pytest.mark.slow  # many rounds: hundreds of events projected one batch each, then rebuilt
def test_tables_are_the_same_whether_events_are_folded_or_applied_one_by_one(
    db: Database,
) -> None:
    db.write_history("u1", 40)
    write_calendar_history(db, "u1")
    write_calendar_history(db, "u2")
    ProjectionRunner(
        projection=PeopleAndDatesProjection(),
        engine=db.engine,
        app=db.app,
        listen_dsn="",
        batch_size=1,
    ).catch_up()
    one_by_one = db.checksums(*TABLES)
    assert db.scalar("SELECT count(*) FROM occurrences WHERE person_name LIKE 'Renamed%'") > 0
    assert db.scalar("SELECT count(*) FROM notification_schedule WHERE person_name LIKE 'Renamed%'")
    assert stale_names(db) == 0

    # One batch holding every event: each row is written once, in its final state.
    rebuilt = Rebuild(PeopleAndDatesProjection(), db.engine, db.app.mapper, batch_size=1_000_000)
    assert rebuilt.run(threading.Event())

    assert db.checksums(*TABLES) == one_by_one
    assert stale_names(db) == 0


def test_every_row_is_at_its_aggregates_version_one_by_one_and_folded(db: Database) -> None:
    """Every event of an aggregate is a new version of its row (``version``,
    ``updated_at``): also the ones that change no column, and also when many of
    one aggregate's events fold into one write."""
    db.write_history("u1", 12)
    write_calendar_history(db, "u1")
    settings = SettingsApplication(
        env=eventsourcing_env(db.settings.require_database(), db.settings.require_master_key())
    )
    settings.replace_settings("u3", Preferences())  # the defaults: a creation alone
    settings.close()
    ProjectionRunner(
        projection=PeopleAndDatesProjection(),
        engine=db.engine,
        app=db.app,
        listen_dsn="",
        batch_size=1,
    ).catch_up()
    assert row_versions(db) == aggregate_versions(db)

    rebuilt = Rebuild(PeopleAndDatesProjection(), db.engine, db.app.mapper, batch_size=1_000_000)
    assert rebuilt.run(threading.Event())

    assert row_versions(db) == aggregate_versions(db)


def aggregate_versions(db: Database) -> dict[tuple[str, str], tuple[int, datetime]]:
    """(table, row key) of every aggregate: its version and when it last changed."""
    tables = {Person: "people", CalendarEvent: "events", UserSettings: "user_settings"}
    with db.engine.connect() as conn:
        ids = conn.execute(text("SELECT DISTINCT originator_id FROM pcem_events")).scalars()
        aggregates: list[Person | CalendarEvent | UserSettings] = [
            db.app.repository.get(i) for i in ids
        ]
    return {
        (tables[type(a)], a.user_id if isinstance(a, UserSettings) else str(a.id)): (
            a.version,
            a.modified_on,
        )
        for a in aggregates
    }


def row_versions(db: Database) -> dict[tuple[str, str], tuple[int, datetime]]:
    found = {}
    with db.engine.connect() as conn:
        for table, key in (("people", "id"), ("events", "id"), ("user_settings", "user_id")):
            rows = conn.execute(text(f"SELECT {key}::text, version, updated_at FROM {table}"))
            found.update({(table, k): (v, at) for k, v, at in rows})
    return found


def stale_names(db: Database) -> int:
    """Occurrences and reminders that show anything but their person's current name."""
    return sum(
        int(
            db.scalar(
                f"SELECT count(*) FROM {table} o JOIN people p ON p.id = o.person_id"
                " WHERE o.person_name <> trim(p.first_name || ' ' || p.last_name)"
            )
        )
        for table in ("occurrences", "notification_schedule")
    )


def test_a_change_set_ends_as_its_events_would_one_by_one(db: Database) -> None:
    """Orders the app cannot produce today (relationship ids are fresh, events arrive
    once), so the end-to-end comparison above cannot reach them."""
    at = datetime.now(UTC)
    p, q, t, first, second = (uuid4() for _ in range(5))

    def person(person_id: UUID, name: str, version: int) -> dict[str, Any]:
        return {"id": person_id, "user_id": "u1", "first_name": name, "last_name": "L",
                "primary_contact": None, "metadata": {}, "version": version,
                "created_at": at, "updated_at": at, "deleted_at": None}  # fmt: skip

    def related(relationship_id: UUID, target: UUID, kind: str) -> dict[str, Any]:
        return {"id": relationship_id, "user_id": "u1", "source_id": p, "target_id": target,
                "type": kind, "created_at": at}  # fmt: skip

    with db.engine.begin() as conn, deferring(conn):
        changes = deferred(conn, PeopleChanges)
        for person_id, name in ((p, "P"), (q, "Q"), (t, "T")):
            changes.create(person(person_id, name, 3))
        changes.relate(related(first, q, "friend"))
        changes.relate(related(second, q, "friend"))
    with db.engine.begin() as conn, deferring(conn):
        changes = deferred(conn, PeopleChanges)
        changes.unrelate(first)  # removed, then added again with other values
        changes.relate(related(first, t, "colleague"))
        changes.relate(related(second, t, "colleague"))  # added again, then removed
        changes.unrelate(second)
        changes.create(person(p, "Again", 1))  # a creation delivered twice
        # A stand-in for an OwnedEvent: change() reads only these three of its attributes.
        changes.change(SimpleNamespace(originator_id=q, originator_version=4, timestamp=at),  # type: ignore[arg-type]
                       {"metadata": None})  # fmt: skip

    with db.engine.connect() as conn:
        links = conn.execute(text("SELECT id, target_id, type FROM relationships")).all()
        again = conn.execute(text("SELECT first_name, version FROM people WHERE id = :p"), {"p": p})
        metadata = conn.execute(text("SELECT metadata FROM people WHERE id = :q"), {"q": q})
        assert [tuple(link) for link in links] == [(first, t, "colleague")]
        assert tuple(again.one()) == ("P", 3)
        assert metadata.scalar_one() is None  # JSON null (the column refuses SQL NULL)
