"""A snapshot held for a whole streamed response (``AsUser.streaming``): as the user
under row-level security, one snapshot from first batch to last, the event store read
as the owner for one statement only, and the connection back in the pool, clean,
however the stream ends."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from pcem.database.row_security import API_ROLE, AsUser, Query
from pcem.settings import Settings

T = TypeVar("T")
WHO = "SELECT current_user, current_setting('pcem.user_id', true)"
AFTER = "SELECT current_user = session_user, current_setting('pcem.user_id', true)"


@asynccontextmanager
async def one_connection(settings: Settings) -> AsyncIterator[AsyncConnectionPool]:
    pool = AsyncConnectionPool(
        settings.require_database().url, min_size=1, max_size=1, kwargs={"autocommit": True},
        open=False, timeout=3,
    )  # fmt: skip
    async with pool:
        yield pool


def run_then_look(
    settings: Settings, read: Callable[[AsUser], Awaitable[T]]
) -> tuple[T, tuple[Any, ...] | None]:
    """``read``'s answer, then who the pool's one connection is afterwards."""

    async def go() -> tuple[T, tuple[Any, ...] | None]:
        async with one_connection(settings) as pool:
            answer = await read(AsUser(pool))
            async with pool.connection() as conn:
                return answer, await (await conn.execute(AFTER)).fetchone()

    return asyncio.run(go())


@pytest.fixture
def people_of_two_users(settings: Settings) -> tuple[str, str]:
    users = (f"stream-{uuid.uuid4()}", f"stream-{uuid.uuid4()}")
    with psycopg.connect(settings.require_database().url, autocommit=True) as conn:
        for user in users:
            for n in range(5):
                conn.execute(
                    "INSERT INTO people (id, user_id, first_name, last_name, version,"
                    " created_at, updated_at) VALUES (%s, %s, %s, '', 1, now(), now())",
                    (uuid.uuid4(), user, f"P{n}"),
                )
    return users


def test_batches_are_the_users_rows_only_a_few_at_a_time(
    settings: Settings, people_of_two_users: tuple[str, str]
) -> None:
    mine, _ = people_of_two_users

    async def read(reads: AsUser) -> list[list[Any]]:
        forgetful: Query = ("SELECT user_id FROM people ORDER BY first_name", {})  # no user filter
        async with reads.streaming(mine) as snapshot:
            return [[row[0] for row in batch] async for batch in snapshot.batches(forgetful, 2)]

    batches, after = run_then_look(settings, read)

    assert batches == [[mine] * 2, [mine] * 2, [mine]]
    assert after == (True, "")


def test_one_snapshot_from_the_first_batch_to_the_last(
    settings: Settings, people_of_two_users: tuple[str, str]
) -> None:
    mine, _ = people_of_two_users
    url = settings.require_database().url

    async def read(reads: AsUser) -> tuple[int, int]:
        async with reads.streaming(mine) as snapshot:
            query = ("SELECT id FROM people WHERE user_id = %s", (mine,))
            seen = 0
            async for batch in snapshot.batches(query, 2):
                seen += len(batch)
                with psycopg.connect(url, autocommit=True) as other:  # commits meanwhile
                    other.execute(
                        "INSERT INTO people (id, user_id, first_name, last_name, version,"
                        " created_at, updated_at) VALUES (%s, %s, 'Late', '', 1, now(), now())",
                        (uuid.uuid4(), mine),
                    )
            [[(counted,)]] = await snapshot.fetchall(
                ("SELECT count(*) FROM people WHERE user_id = %s", (mine,))
            )
            return seen, counted

    (seen, counted), _ = run_then_look(settings, read)

    assert (seen, counted) == (5, 5)


def test_as_owner_is_one_statement_then_the_user_again(settings: Settings) -> None:
    async def read(reads: AsUser) -> list[Any]:
        async with reads.streaming("someone") as snapshot:
            [before] = await snapshot.fetchall((WHO, {}))
            owner = await snapshot.as_owner(("SELECT current_user = session_user", {}))
            events = await snapshot.as_owner(("SELECT count(*) FROM pcem_events", {}))
            [again] = await snapshot.fetchall((WHO, {}))
            return [before, owner, events, again]

    (before, owner, events, again), after = run_then_look(settings, read)

    assert before == again == [(API_ROLE, "someone")]
    assert owner == [(True,)]
    assert len(events) == 1  # pcem_api may not read the event store; the owner may
    assert after == (True, "")


def test_a_stream_cancelled_midway_gives_its_connection_back_clean(
    settings: Settings, people_of_two_users: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    mine, _ = people_of_two_users

    async def read(reads: AsUser) -> str:
        async def stream() -> None:
            async with reads.streaming(mine) as snapshot:
                async for _ in snapshot.batches(("SELECT id FROM people", {}), 1):
                    await asyncio.sleep(10)  # a client that stopped reading

        task = asyncio.create_task(stream())
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return "cancelled"

    with caplog.at_level(logging.WARNING, logger="psycopg.pool"):
        answer, after = run_then_look(settings, read)

    assert answer == "cancelled"
    assert after == (True, "")  # the pool's one connection, usable, the owner's again
    assert not [r for r in caplog.records if r.name == "psycopg.pool"]  # nothing left open


def test_a_failed_statement_rolls_the_snapshot_back(settings: Settings) -> None:
    async def read(reads: AsUser) -> str:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            async with reads.streaming("someone") as snapshot:
                await snapshot.fetchall(("SELECT count(*) FROM pcem_events", {}))
        return "refused"

    answer, after = run_then_look(settings, read)

    assert (answer, after) == ("refused", (True, ""))
