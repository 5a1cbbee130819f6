"""The second wall: what the API reads or writes for a user runs as ``pcem_api``, under
row-level security, for that user only (migration 0108 has the role and the policies).

Every view still filters on ``user_id`` itself; this is what holds if one forgets.
The API's pool logs in as its owner but starts each connection as ``pcem_api``
(``API_ROLE_OPTIONS``, checked by ``check_api_role`` as each connection is made), with
no user: a statement that names none sees nothing. The user is set with
``set_config(..., true)``, for one transaction, so a pooled connection goes back to
having none once it is done.

A read of one ``SELECT`` is one statement: the user is set by a one-row subquery the
read is laterally joined to (``scoped``), so PostgreSQL must compute it before the
read runs, and the policy then finds it. Were it ever run the other way round, the
policy would find no user and the read no row: fail-closed. Anything else (several
statements, a write) sends the user as a statement of its own in the same round trip:
in pipeline mode the statements before one Sync form one (implicit) transaction, and
only the last exit syncs. The few reads that are no user's (a feed's token, the
projections' positions) say so with ``as_owner``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from itertools import count
from typing import Any

import anyio
import psycopg
from psycopg_pool import AsyncConnectionPool

API_ROLE = "pcem_api"
API_ROLE_OPTIONS = f"-c role={API_ROLE}"  # the API pool's connections start as pcem_api
USER_SETTING = "pcem.user_id"
_USER_PARAMETER = "pcem_scope_user_id"
# ``scoped``: a view's own constant SQL, read once the user is set.
_SCOPED = (
    "SELECT pcem_read.* FROM (SELECT set_config('pcem.user_id', %(pcem_scope_user_id)s, true)"
    " AS user_id) AS pcem_who CROSS JOIN LATERAL (SELECT * FROM (",
    ") AS pcem_rows WHERE pcem_who.user_id IS NOT NULL AND current_user = 'pcem_api'"
    " OFFSET 0) AS pcem_read",
)
# The one statement that says who is reading.
_ENTER = "SELECT set_config('role', 'pcem_api', true), set_config('pcem.user_id', %s, true)"
_BEGIN_SNAPSHOT = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
# A stream's snapshot: a client that reads nothing for this long has its transaction
# ended by the server (then its connection), rather than holding back vacuum for ever.
_STREAM_IDLE = "SELECT set_config('idle_in_transaction_session_timeout', %s, true)"
STREAM_IDLE_SECONDS = 300
# Back to the role the connection logged in as, and into pcem_api again (``as_owner``).
_AS_OWNER = "SELECT set_config('role', 'none', true)"
_AS_USER_AGAIN = "SELECT set_config('role', 'pcem_api', true)"
_cursor_numbers = count(1)

Query = tuple[str, Mapping[str, Any] | Sequence[Any]]
Row = tuple[Any, ...]


def scoped(select: str) -> str:
    """``select`` as one statement that first sets the user it reads for (from the
    ``pcem_scope_user_id`` parameter). The read refers to the subquery that sets it, so
    it is the inner side of a nested loop, run only once the user is set; and it reads
    nothing on a connection that is not ``pcem_api`` (a pool made without
    ``API_ROLE_OPTIONS``), rather than read without the wall."""
    return select.join(_SCOPED)


async def check_api_role(conn: psycopg.AsyncConnection[Any]) -> None:
    """A new API connection must be ``pcem_api``, else reads would run without the wall."""
    cursor = await conn.execute("SELECT current_user, current_setting('role')")
    row = await cursor.fetchone()
    if row is None or row[0] != API_ROLE:
        raise RuntimeError(f"the API's connection is {row}, not {API_ROLE} ({API_ROLE_OPTIONS})")


class AsUser:
    """The API's async pool (``API_ROLE_OPTIONS``), one user at a time."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def fetchall(self, user_id: str, query: str, params: Mapping[str, Any]) -> list[Row]:
        """The rows of one query: a ``SELECT`` in one statement, scoped to the user."""
        if query.lstrip()[:6].upper() != "SELECT":
            return (await self.fetch_each(user_id, (query, params)))[0]
        async with self._pool.connection() as conn:
            scoped_params = {**params, _USER_PARAMETER: user_id}
            cursor = await conn.execute(scoped(query), scoped_params, prepare=True)
            return await cursor.fetchall()

    async def fetch_each(self, user_id: str, *queries: Query) -> list[list[Row]]:
        """The rows of each query, all sent in one round trip (one implicit transaction)."""
        async with self._pool.connection() as conn:
            async with conn.pipeline():
                await conn.execute(_ENTER, (user_id,), prepare=True)
                cursors = [await conn.execute(q, p, prepare=True) for q, p in queries]
            # Fetched after the pipeline's one Sync: inside, a fetch would sync twice.
            return [await cursor.fetchall() for cursor in cursors]

    async def as_owner(self, query: str, params: Mapping[str, Any] | Sequence[Any]) -> list[Row]:
        """The rows of a query that is no user's (a feed's token, the projections'
        positions), as the role the connection logged in as, for that one statement."""
        async with self._pool.connection() as conn:
            async with conn.pipeline():
                await conn.execute(_AS_OWNER)
                cursor = await conn.execute(query, params, prepare=True)
            return await cursor.fetchall()

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

    @asynccontextmanager
    async def streaming(self, user_id: str) -> AsyncIterator[StreamingSnapshot]:
        """A snapshot held for as long as a response streams (``StreamingSnapshot``).
        However the stream ends (done, failed, the client gone and the request
        cancelled), the transaction is rolled back unless it committed, and the
        connection goes back to the pool: shielded, since a cancelled request would
        otherwise cancel its own clean-up."""
        conn = await self._pool.getconn()
        snapshot = StreamingSnapshot(conn, user_id)
        try:
            await snapshot.begin()
            yield snapshot
            await snapshot.commit()
        finally:
            with anyio.CancelScope(shield=True):
                if not snapshot.committed and not conn.broken:
                    with suppress(psycopg.Error):
                        await conn.rollback()
                with suppress(psycopg.Error):
                    await snapshot.forget_cursors()
                await self._pool.putconn(conn)


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


class StreamingSnapshot:
    """One snapshot (REPEATABLE READ, read only) for a whole streamed response, as one
    user: ``fetchall`` and ``batches`` (a server-side cursor: a batch in memory at a
    time) run as ``pcem_api`` under row-level security.

    ``as_owner`` reads the same snapshot as the role the connection logged in as,
    for exactly its one statement: the event store, which has no user column for a
    policy and which ``pcem_api`` may not read. Its caller names the rows it wants by
    ids taken from the user's own rows, and checks their owner (``pcem.export``).
    """

    def __init__(self, conn: psycopg.AsyncConnection[Any], user_id: str) -> None:
        self._conn = conn
        self._user_id = user_id
        self._cursors: list[psycopg.AsyncServerCursor[Row]] = []
        self.committed = False

    async def begin(self) -> None:
        async with self._conn.pipeline():
            await self._conn.execute(_BEGIN_SNAPSHOT)
            await self._conn.execute(_ENTER, (self._user_id,), prepare=True)
            await self._conn.execute(_STREAM_IDLE, (f"{STREAM_IDLE_SECONDS}s",))

    async def fetchall(self, *queries: Query) -> list[list[Row]]:
        """The rows of each query, all sent in one round trip."""
        async with self._conn.pipeline():
            cursors = [await self._conn.execute(q, p, binary=True) for q, p in queries]
        return [await cursor.fetchall() for cursor in cursors]

    async def batches(self, query: Query, size: int) -> AsyncIterator[list[Row]]:
        """The query's rows, ``size`` at a time, from a server-side cursor. Nothing is
        sent when an unfinished one is dropped: its generator may be closed after the
        connection has gone back to the pool; the transaction's end closes its cursor."""
        cursor = self._conn.cursor(f"pcem_stream_{next(_cursor_numbers)}", binary=True)
        self._cursors.append(cursor)
        await cursor.execute(*query)
        while rows := await cursor.fetchmany(size):
            yield rows

    async def as_owner(self, query: Query) -> list[Row]:
        """One statement's rows as the connection's own role, in the same snapshot."""
        async with self._conn.pipeline():
            await self._conn.execute(_AS_OWNER)
            cursor = await self._conn.execute(*query, binary=True)
            await self._conn.execute(_AS_USER_AGAIN)
        return await cursor.fetchall()

    async def commit(self) -> None:
        await self._conn.execute("COMMIT")
        self.committed = True

    async def forget_cursors(self) -> None:
        """Once the transaction has ended (its cursors with it): closes them on the
        client side, with nothing sent."""
        for cursor in self._cursors:
            await cursor.close()
