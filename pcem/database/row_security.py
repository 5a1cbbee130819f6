"""The second wall: what the API reads or writes for a user runs as ``pcem_api``, under
row-level security, for that user only (migration 0108 has the role and the policies).

Every view still filters on ``user_id`` itself; this is what holds if one forgets.
The role and the user are set with ``set_config(..., true)``: for one transaction, so
a pooled connection goes back to its owner role, with no user, once it is done. They
travel in the same round trip as the statements: in pipeline mode the statements
before one Sync form one (implicit) transaction, and only the last exit syncs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Engine

from pcem.database.connections import driver_connection

API_ROLE = "pcem_api"
USER_SETTING = "pcem.user_id"
# The one statement that says who is reading.
_ENTER = "SELECT set_config('role', 'pcem_api', true), set_config('pcem.user_id', %s, true)"
_BEGIN_SNAPSHOT = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"

Query = tuple[str, Mapping[str, Any] | Sequence[Any]]
Row = tuple[Any, ...]


class AsUser:
    """The API's async pool, one user at a time."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def fetchall(self, user_id: str, query: str, params: Mapping[str, Any]) -> list[Row]:
        return (await self.fetch_each(user_id, (query, params)))[0]

    async def fetch_each(self, user_id: str, *queries: Query) -> list[list[Row]]:
        """The rows of each query, all sent in one round trip (one implicit transaction)."""
        async with self._pool.connection() as conn:
            async with conn.pipeline():
                await conn.execute(_ENTER, (user_id,), prepare=True)
                cursors = [await conn.execute(q, p, prepare=True) for q, p in queries]
            # Fetched after the pipeline's one Sync: inside, a fetch would sync twice.
            return [await cursor.fetchall() for cursor in cursors]

    @asynccontextmanager
    async def snapshot(self, user_id: str, *, binary: bool = False) -> AsyncIterator[Snapshot]:
        """Reads that see one snapshot of the database for ``user_id`` (a transaction of
        their own, REPEATABLE READ, read only, on the pool's autocommit connections);
        ``binary``: rows come in PostgreSQL's binary format (cheaper to load)."""
        async with self._pool.connection() as conn:
            snapshot = Snapshot(conn, user_id, binary=binary)
            try:
                yield snapshot
                await snapshot.end()
            except BaseException:
                if not conn.broken:  # a lost connection is the pool's to discard
                    with suppress(psycopg.Error):  # the error that brought us here is the news
                        await conn.rollback()
                raise


class Snapshot:
    """One pooled connection's snapshot transaction, as one user (``AsUser.snapshot``).

    No round trip of its own: the ``BEGIN`` and the user travel with the first read,
    the ``COMMIT`` with the read marked ``last`` (else it is sent on leaving).
    """

    def __init__(self, conn: psycopg.AsyncConnection[Any], user_id: str, *, binary: bool) -> None:
        self._conn = conn
        self._user_id = user_id
        self._binary = binary
        self._begun = self._ended = False

    async def fetchall(self, *queries: Query, last: bool = False) -> list[list[Row]]:
        """The rows of each query, all sent in one round trip; ``last`` ends the snapshot."""
        if self._ended:
            raise RuntimeError("the snapshot has ended")
        conn = self._conn
        async with conn.pipeline():
            if not self._begun:
                await conn.execute(_BEGIN_SNAPSHOT)
                await conn.execute(_ENTER, (self._user_id,), prepare=True)
                self._begun = True
            cursors = [
                await conn.execute(q, p, prepare=True, binary=self._binary) for q, p in queries
            ]
            if last:
                await conn.execute("COMMIT")
        # The pipeline's Sync ends the round trip; the open transaction outlives it.
        self._ended = last
        return [await cursor.fetchall() for cursor in cursors]

    async def end(self) -> None:
        """Commit, unless a read marked ``last`` did (``AsUser.snapshot``, on leaving)."""
        if self._begun and not self._ended:
            await self._conn.execute("COMMIT")
            self._ended = True


class AsUserSync:
    """An engine's connections, one user at a time (in autocommit, so each call's
    statements are one transaction of their own). No view holds it: they are all async,
    on ``AsUser``. It is for blocking code that must read as the API reads, such as
    ``benchmarks/people_search.py`` explaining its plans."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")

    def fetchall(self, user_id: str, *queries: Query) -> list[list[Row]]:
        """The rows of each query, all sent in one round trip."""
        with self._engine.connect() as conn:
            raw = driver_connection(conn)
            with raw.pipeline():
                raw.execute(_ENTER, (user_id,), prepare=True)
                cursors = [raw.execute(q, p, prepare=True) for q, p in queries]
            return [cursor.fetchall() for cursor in cursors]
