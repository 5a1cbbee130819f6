"""All-or-nothing commands, and the moving occurrence horizon."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.pq import TransactionStatus
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import text

from pcem.aggregates.event import CalendarEvent
from pcem.aggregates.person import Person
from pcem.database.row_security import AsUser
from pcem.projections.calendar_view import Between, Occurrence
from pcem.projections.horizon import Horizon
from pcem.projector.horizon_keeper import advance_horizon
from pcem.settings import Settings
from pcem.wiring import Container
from tests.integration.api_helpers import PEOPLE, Client, create_person, served
from tests.integration.process_manager_helpers import projected_api_of

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


@pytest.fixture
def own_database(isolated: Settings) -> Iterator[Client]:
    """The API and the projector on a database of their own: moving its horizon ahead
    must not move the shared database's (later tests expect reminders due soon)."""
    with projected_api_of(isolated) as client:
        yield client


def test_advancing_the_horizon_materialises_the_new_days(
    own_database: Client, auth: dict[str, str], user_id: str
) -> None:
    client, container = own_database, own_database.app.state.container
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

    def answer(*, materialised: bool) -> list[Occurrence]:
        return served(
            container,
            lambda serving: serving.calendar_view.upcoming(
                user_id, Between(*tail), special_only=False, now=now, materialised=materialised
            ),
        )[1]

    materialised, computed = answer(materialised=True), answer(materialised=False)
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
    settings: Settings, failure: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def fail_then_look() -> tuple[bool, TransactionStatus, tuple[Any, ...] | None]:
        # One autocommit connection, as the API's pool has them.
        async with AsyncConnectionPool(
            settings.require_database().url,
            min_size=1,
            max_size=1,
            kwargs={"autocommit": True},
            open=False,
        ) as pool:
            reads = AsUser(pool)
            with pytest.raises((psycopg.errors.DivisionByZero, LookupError)):
                async with reads.snapshot("someone") as snapshot:
                    [[(pid,)]] = await snapshot.fetchall(
                        ("SELECT pg_backend_pid() FROM occurrence_horizon", {})
                    )
                    if failure.startswith("SELECT"):
                        await snapshot.fetchall((failure, {}))
                    raise LookupError(failure)
            async with pool.connection() as conn:
                same = conn.info.backend_pid == pid  # kept, not replaced
                status = conn.info.transaction_status
                cursor = await conn.execute(
                    "SELECT current_user = session_user, current_setting('pcem.user_id', true)"
                )
                return same, status, await cursor.fetchone()

    with caplog.at_level(logging.WARNING, logger="psycopg.pool"):
        same, status, after = asyncio.run(fail_then_look())

    assert same
    assert status == TransactionStatus.IDLE
    assert after == (True, "")
    # The snapshot rolled back itself: the pool had nothing to roll back.
    assert not [r for r in caplog.records if "rolling back" in r.getMessage()]


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
