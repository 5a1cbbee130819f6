"""All-or-nothing commands, and the moving occurrence horizon."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import text

from pcem.aggregates.event import CalendarEvent
from pcem.aggregates.person import Person
from pcem.database.connections import driver_connection
from pcem.database.row_security import user_snapshot
from pcem.projections.horizon import Horizon
from pcem.projector.horizon_keeper import advance_horizon
from pcem.wiring import Container
from tests.integration.api_helpers import PEOPLE, Client, create_person

EVENTS = "/api/v1/events"


@pytest.fixture
def hiding_fails(container: Container) -> Iterator[None]:
    """Make the database refuse to store any 'event hidden with its person' record."""
    with container.engine.begin() as conn:
        conn.execute(
            text(
                "CREATE FUNCTION refuse_hiding() RETURNS trigger LANGUAGE plpgsql AS"
                " $$ BEGIN RAISE EXCEPTION 'disk full (simulated)'; END $$;"
                " CREATE TRIGGER refuse_hiding BEFORE INSERT ON pcem_events FOR EACH ROW"
                " WHEN (NEW.topic LIKE '%CalendarEvent.HiddenWithPerson')"
                " EXECUTE FUNCTION refuse_hiding()"
            )
        )
    yield
    with container.engine.begin() as conn:
        conn.execute(
            text("DROP TRIGGER refuse_hiding ON pcem_events; DROP FUNCTION refuse_hiding()")
        )


def test_deleting_a_person_whose_events_cannot_be_hidden_changes_nothing(
    client: Client, auth: dict[str, str], user_id: str, container: Container, hiding_fails: None
) -> None:
    # given a person with two events
    ada = create_person(client, auth)
    for day in ("1990-06-01", "2015-09-12"):
        client.post(
            EVENTS, json={"person_id": ada["id"], "title": "Day", "event_date": day}, headers=auth
        )
    person_id = uuid.UUID(ada["id"])

    # when the second write of the deletion (hiding the events) fails
    with pytest.raises(Exception, match="disk full"):
        container.people.delete_person(user_id, person_id)

    # then the first write (the person's deletion) did not happen either
    person: object = container.people.repository.get(person_id)
    assert isinstance(person, Person) and not person.is_deleted
    events: list[object] = [container.calendar.repository.get(e) for e in person.event_ids]
    assert all(isinstance(e, CalendarEvent) and not e.is_hidden for e in events)
    assert client.get(f"{PEOPLE}/{ada['id']}", headers=auth).status_code == 200
    assert (
        len(client.get(EVENTS, params={"person_id": ada["id"]}, headers=auth).json()["items"]) == 2
    )


def test_advancing_the_horizon_materialises_the_new_days(
    client: Client, auth: dict[str, str], user_id: str, container: Container
) -> None:
    ada = create_person(client, auth)
    client.post(
        EVENTS,
        json={
            "person_id": ada["id"],
            "title": "Run",
            "event_date": "2026-01-05",
            "recurrence": "weekly",
        },
        headers=auth,
    )
    client.get(EVENTS, headers=auth)  # wait for the projection
    later = datetime.now(UTC).date() + timedelta(days=20)

    moved = advance_horizon(container.engine, later)

    horizon = Horizon.around(later)
    tail = (horizon.ends_at - timedelta(days=30), horizon.ends_at)
    with container.engine.connect() as conn:
        stored = conn.execute(text("SELECT starts_at, ends_at FROM occurrence_horizon")).one()
    assert moved
    assert (stored.starts_at, stored.ends_at) == (horizon.starts_at, horizon.ends_at)
    now = datetime.now(UTC)
    materialised, computed = (
        container.calendar_view.upcoming(
            user_id, lambda zone: tail, special_only=False, now=now, materialised=stored
        )[1]
        for stored in (True, False)
    )
    assert len(materialised) >= 4
    assert materialised == computed
    assert not advance_horizon(container.engine, later - timedelta(days=1))  # never backwards


def test_horizon_window_is_whole_utc_days_around_today() -> None:
    horizon = Horizon.around(date(2027, 3, 1))

    assert horizon.starts_at == datetime(2027, 1, 29, tzinfo=UTC)
    assert horizon.ends_at == datetime(2028, 4, 4, tzinfo=UTC)
    assert horizon.covers(datetime(2027, 3, 1, tzinfo=UTC), datetime(2028, 3, 1, tzinfo=UTC))
    assert not horizon.covers(datetime(2027, 3, 1, tzinfo=UTC), datetime(2028, 5, 1, tzinfo=UTC))


def test_horizon_waits_while_the_people_projection_is_being_rebuilt(container: Container) -> None:
    # given a rebuild in progress (its shadow schema exists)
    with container.engine.begin() as conn:
        conn.execute(text("CREATE SCHEMA rebuild_people_and_dates"))
    try:
        # when the day comes to move the horizon far ahead
        moved = advance_horizon(container.engine, datetime.now(UTC).date() + timedelta(days=90))
    finally:
        with container.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA rebuild_people_and_dates"))

    # then it waits, so the rebuilt tables and the live ones share one horizon
    assert not moved


@pytest.mark.parametrize("failure", ["SELECT 1 / 0", "raise in Python"])
def test_a_failed_snapshot_read_hands_its_connection_back_idle(
    container: Container, failure: str
) -> None:
    with container.calendar_view.engine.connect() as conn:  # autocommit, as the views run
        driver = driver_connection(conn)
        with (
            pytest.raises((psycopg.errors.DivisionByZero, LookupError)),
            driver.cursor() as cursor,
            user_snapshot(cursor, "someone"),
        ):
            cursor.execute("SELECT count(*) FROM occurrence_horizon")
            if failure.startswith("SELECT"):
                cursor.execute(failure)
            raise LookupError(failure)

        assert driver.info.transaction_status == TransactionStatus.IDLE
        assert conn.execute(text("SELECT 1")).scalar() == 1


def test_a_hard_purge_of_a_person_takes_their_events_and_occurrences(
    client: Client, auth: dict[str, str], container: Container
) -> None:
    ada, bob = create_person(client, auth), create_person(client, auth)
    for person in (ada, bob):
        payload = {"person_id": person["id"], "title": "Birthday", "event_date": "1990-06-01"}
        client.post(EVENTS, json={**payload, "recurrence": "yearly"}, headers=auth)
    client.get(EVENTS, headers=auth)  # wait for the projection

    def rows(person_id: str) -> tuple[int, int]:
        with container.engine.connect() as conn:
            counts = conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM events WHERE person_id = :id),"
                    " (SELECT count(*) FROM occurrences WHERE person_id = :id)"
                ),
                {"id": person_id},
            ).one()
        return counts[0], counts[1]

    before = rows(ada["id"])
    with container.engine.begin() as conn:  # what an operator's purge does to the read model
        conn.execute(text("DELETE FROM people WHERE id = :id"), {"id": ada["id"]})

    assert before[0] == 1 and before[1] >= 1
    assert rows(ada["id"]) == (0, 0)
    assert rows(bob["id"])[0] == 1
