"""The second wall: what the API reads for a user runs as ``pcem_api``, under row-level
security, so a query that forgets its ``user_id`` still sees only that user's rows."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import text

from pcem.database.row_security import API_ROLE, API_ROLE_OPTIONS, AsUser
from pcem.settings import Settings
from pcem.wiring import Container
from tests.conftest import TokenFactory
from tests.integration.api_helpers import PEOPLE, Client, bearer, create_person

EVENTS = "/api/v1/events"
# No user_id column of its own: an attempt is scoped by its notification's owner.
SCOPED_THROUGH_PARENT = {"notification_attempts"}
# Tables the API never reads as a user: the event store, the process manager's
# own state, the projections' positions, support's log. (The notification schedule
# is read as the user: the reminders to come are listed with the notifications.)
NOT_FOR_THE_API_ROLE = (
    "pcem_events",
    "idempotency_keys",
    "outbox",
    "scheduler_watermark",
    "projection_tracking",
    "support_access_log",
    "subject_keys",
)


def test_every_user_scoped_table_has_row_level_security_forced_with_a_policy(
    container: Container,
) -> None:
    with container.engine.connect() as conn:
        with_user_id = set(
            conn.scalars(
                text(
                    "SELECT table_name FROM information_schema.columns"
                    " WHERE table_schema = 'public' AND column_name = 'user_id'"
                )
            )
        )
        scoped = with_user_id | SCOPED_THROUGH_PARENT
        rows = conn.execute(
            text(
                "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,"
                " EXISTS (SELECT 1 FROM pg_policies p WHERE p.schemaname = 'public'"
                "         AND p.tablename = c.relname AND :role = ANY(p.roles))"
                " FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace"
                " AND c.relname = ANY(:tables)"
            ),
            {"role": API_ROLE, "tables": sorted(scoped)},
        ).all()

    assert {"people", "relationships", "events", "occurrences", "notifications"} <= scoped
    assert sorted(rows) == [(name, True, True, True) for name in sorted(scoped)]


def test_pcem_api_owns_nothing_bypasses_nothing_and_reads_only_what_users_are_answered(
    container: Container,
) -> None:
    with container.engine.connect() as conn:
        role = conn.execute(
            text(
                "SELECT rolsuper, rolbypassrls, rolcanlogin, rolcreaterole, rolcreatedb"
                " FROM pg_roles WHERE rolname = :role"
            ),
            {"role": API_ROLE},
        ).one()
        owned = conn.scalar(
            text("SELECT count(*) FROM pg_class WHERE relowner = to_regrole(:role)"),
            {"role": API_ROLE},
        )
        readable = {
            table: conn.scalar(
                text(f"SELECT has_table_privilege('{API_ROLE}', '{table}', 'SELECT')")
            )
            for table in NOT_FOR_THE_API_ROLE
        }
        writable = conn.scalar(
            text(
                "SELECT count(*) FROM pg_class c, unnest(ARRAY['INSERT', 'DELETE', 'TRUNCATE']) p"
                " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'"
                " AND has_table_privilege(:role, c.oid, p)"
            ),
            {"role": API_ROLE},
        )

    assert tuple(role) == (False, False, False, False, False)
    assert owned == 0
    assert readable == dict.fromkeys(NOT_FOR_THE_API_ROLE, False)
    assert writable == 0


def test_an_unscoped_query_on_the_apis_connections_sees_only_the_callers_rows(
    client: Client, container: Container, token_for: TokenFactory
) -> None:
    users = [f"rls-{uuid.uuid4()}" for _ in range(2)]
    # Reminded in a month: inside the schedule's window (also when a test moved it on).
    birthday = f"2000-{date.today() + timedelta(days=30):%m-%d}"
    for user in users:
        auth = bearer(token_for(user))
        person = create_person(client, auth)
        event = {"person_id": person["id"], "title": "Birthday", "event_date": birthday,
                 "is_special_event": True, "recurrence": "yearly"}  # fmt: skip
        assert client.post(EVENTS, json=event, headers=auth).status_code == 201
        assert client.get(EVENTS, headers=auth).status_code == 200  # waits for the projector
    forgetful = "SELECT DISTINCT user_id FROM people"  # no WHERE user_id = ...

    forgetful_events = "SELECT DISTINCT user_id FROM events"
    forgetful_reminders = "SELECT DISTINCT user_id FROM notification_schedule"

    async def every_way_a_view_reads(user: str) -> list[list[tuple[Any, ...]]]:
        async with container.serving() as serving:
            one = await serving.people_view.reads.fetchall(user, forgetful, {})
            reminders = await serving.inbox.reads.fetchall(user, forgetful_reminders, {})
            each = await serving.calendar_view.reads.fetch_each(
                user, (forgetful, {}), (forgetful_events, {})
            )
            async with serving.calendar_view.reads.snapshot(user, binary=True) as snapshot:
                [first] = await snapshot.fetchall((forgetful, {}))
                [last] = await snapshot.fetchall((forgetful_events, {}), last=True)
            return [one, reminders, *each, first, last]

    for user in users:
        assert asyncio.run(every_way_a_view_reads(user)) == [[(user,)]] * 6
    # No user: nothing at all.
    assert asyncio.run(every_way_a_view_reads("")) == [[]] * 6


def test_as_pcem_api_without_a_user_a_query_sees_nothing_and_cannot_write(
    client: Client, auth: dict[str, str], container: Container
) -> None:
    create_person(client, auth)
    assert client.get(PEOPLE, headers=auth).json()["items"]  # projected
    with container.engine.connect() as conn:
        conn.execute(text(f"SET LOCAL ROLE {API_ROLE}"))
        assert conn.scalar(text("SELECT count(*) FROM people")) == 0
        assert conn.scalar(text("SELECT count(*) FROM notification_attempts")) == 0
        with pytest.raises(Exception, match="permission denied") as refused:
            conn.execute(text("DELETE FROM people"))
        assert isinstance(refused.value.orig, psycopg.errors.InsufficientPrivilege)  # type: ignore[attr-defined]
        conn.rollback()


WHO = "SELECT current_user, current_setting('pcem.user_id', true)"


async def _one(reads: AsUser) -> list[tuple[Any, ...]]:
    return await reads.fetchall("someone", WHO, {})


async def _each(reads: AsUser) -> list[tuple[Any, ...]]:
    [rows, _] = await reads.fetch_each("someone", (WHO, {}), ("SELECT 1", {}))
    return rows


async def _snapshot(reads: AsUser) -> list[tuple[Any, ...]]:
    async with reads.snapshot("someone", binary=True) as snapshot:
        await snapshot.fetchall(("SELECT 1", {}))
        [rows] = await snapshot.fetchall((WHO, {}), last=True)
    return rows


async def _snapshot_left_open(reads: AsUser) -> list[tuple[Any, ...]]:
    async with reads.snapshot("someone") as snapshot:  # no read marked last
        [rows] = await snapshot.fetchall((WHO, {}))
    return rows


@pytest.mark.parametrize("read", [_one, _each, _snapshot, _snapshot_left_open])
def test_on_the_async_pool_the_role_and_the_user_end_with_their_statements(
    settings: Settings,
    read: Callable[[AsUser], Awaitable[list[tuple[Any, ...]]]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """What the API's views do: afterwards the connection is pcem_api again, as it
    started, with no user, and ended its own transaction (the pool had nothing to roll
    back)."""

    async def read_then_look() -> tuple[list[tuple[Any, ...]], tuple[Any, ...] | None]:
        async with AsyncConnectionPool(
            settings.require_database().url,
            min_size=1,
            max_size=1,  # one connection, reused
            kwargs={"autocommit": True, "options": API_ROLE_OPTIONS},  # as the API's
            open=False,
        ) as pool:
            rows = await read(AsUser(pool))
            async with pool.connection() as conn:
                cursor = await conn.execute(WHO)
                return rows, await cursor.fetchone()

    with caplog.at_level(logging.WARNING, logger="psycopg.pool"):
        rows, after = asyncio.run(read_then_look())

    assert rows == [(API_ROLE, "someone")]
    assert after == (API_ROLE, "")
    assert not [r for r in caplog.records if r.name == "psycopg.pool"]


def test_a_read_on_a_connection_that_is_not_pcem_api_sees_nothing(settings: Settings) -> None:
    """A pool made without the API's role fails closed: a one-statement read there
    would run as the owner, without the second wall, so it answers no rows."""

    async def read_as_owner() -> list[tuple[Any, ...]]:
        url = settings.require_database().url
        async with AsyncConnectionPool(url, kwargs={"autocommit": True}, open=False) as pool:
            return await AsUser(pool).fetchall("someone", WHO, {})

    assert asyncio.run(read_as_owner()) == []


# people_page (migration 0118) reads as its owner, so that searches can use their
# indexes: the wall is its own scope, the transaction's user and the one asked for.
PEOPLE_PAGE = (
    "SELECT first_name FROM people_page(%(for_user)s, NULL, NULL, NULL, %(has_keys)s::text[],"
    " %(meta)s::jsonb, %(q)s, 10)"
)
SEARCHES: list[dict[str, Any]] = [
    {"has_keys": None, "meta": None, "q": None},
    {"has_keys": ["school"], "meta": None, "q": None},
    {"has_keys": None, "meta": '{"school": "Hillside"}', "q": None},
    {"has_keys": None, "meta": None, "q": "hillside"},
]


def test_people_page_answers_only_the_transactions_own_user_and_nothing_without_one(
    client: Client, container: Container, token_for: TokenFactory
) -> None:
    users = [f"rls-{uuid.uuid4()}" for _ in range(2)]
    for user in users:
        auth = bearer(token_for(user))
        create_person(client, auth, first_name=user, metadata={"school": "Hillside"})
        assert client.get(PEOPLE, headers=auth).json()["items"]  # projected
    mine, theirs = users

    async def found(as_user: str, for_user: str) -> set[str]:
        async with container.serving() as serving:
            reads = serving.people_view.reads
            pages = [
                await reads.fetchall(as_user, PEOPLE_PAGE, {"for_user": for_user, **search})
                for search in SEARCHES
            ]
        return {name for rows in pages for (name,) in rows}

    assert asyncio.run(found(mine, mine)) == {mine}
    assert asyncio.run(found(mine, theirs)) == set()  # asking for another user
    assert asyncio.run(found("", mine)) == set()  # no user
    with container.engine.connect() as conn:  # the setting never made at all
        conn.execute(text(f"SET LOCAL ROLE {API_ROLE}"))
        unset = conn.execute(
            text("SELECT count(*) FROM people_page(:user, NULL, NULL, NULL, NULL, NULL, NULL, 10)"),
            {"user": mine},
        ).scalar()
        conn.rollback()
    assert unset == 0


def test_people_page_is_pcem_apis_alone_with_a_search_path_no_temporary_table_can_take(
    container: Container,
) -> None:
    with container.engine.connect() as conn:
        function = conn.execute(
            text(
                "SELECT prosecdef, proconfig, has_function_privilege(:role, oid, 'EXECUTE'),"
                " EXISTS (SELECT 1 FROM aclexplode(proacl) WHERE grantee = 0)"
                " FROM pg_proc WHERE proname = 'people_page'"
            ),
            {"role": API_ROLE},
        ).one()

    secure, config, api_may_call, public_may_call = function
    assert (secure, api_may_call, public_may_call) == (True, True, False)
    assert "search_path=public, pg_temp" in config
