"""Read-your-writes across API replicas.

A command's position is remembered, in Redis, as the highest event position
each user has written. A query waits (at most 5 s) until the projections it
reads have reached the larger of that position and the client's
``PCEM-Min-Position``. The client never has to sleep, and any replica sees
the same position.

Each API process also keeps the projections' positions in memory: the
projector NOTIFYs every batch it commits (``POSITIONS_CHANNEL``), so the
common case — the projection is already past the user's last write — costs
no query, and no Redis round trip of its own: the rate limiter read the user's
position when it counted the request (``LAST_WRITE``), else one ``GET``. A
notification missed while the listening connection was down only costs a query:
positions never move backwards.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable

import psycopg
import redis
import redis.asyncio
import structlog
from psycopg.conninfo import make_conninfo
from psycopg_pool import AsyncConnectionPool

from pcem.database.connections import DEAD_CLIENT_OPTIONS, application_name
from pcem.database.row_security import AsUser
from pcem.projector.tracking import POSITIONS_CHANNEL
from pcem.wiring import Container, Serving

log = structlog.get_logger(__name__)

MAX_POSITION = 2**63 - 1
# The user's last write position, read with the request's count (``pcem.api.rate_limiting``).
LAST_WRITE = "pcem_last_write"
_REMEMBER_SECONDS = 3600
_RECHECK_SECONDS = 0.05  # a query at least this often while waiting, in case of a missed NOTIFY
_RELISTEN_SECONDS = 1.0

# Raise the stored position, never lower it (two commands may finish out of order).
_RAISE_POSITION = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
    redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else
    redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 1
"""


class ProjectionsBehindError(Exception):
    """The read models did not reach the position a query needs in time."""

    def __init__(self, position: int, timeout: float) -> None:
        super().__init__(f"read models have not reached position {position} within {timeout:g} s")


class PositionBeyondHeadError(ValueError):
    """A client asked to wait for an event position no event has."""

    def __init__(self, position: int, head: int) -> None:
        super().__init__(f"no event has position {position} yet; the latest is {head}")


class ProjectionPositions:
    """Where each live projection has got to, as this process last heard."""

    POSITIONS = "SELECT name, position FROM projection_tracking WHERE name = ANY(%s)"
    HEAD = "SELECT coalesce(max(notification_id), 0) FROM pcem_events"

    def __init__(self, pool: AsyncConnectionPool, listen_dsn: str) -> None:
        self.reads = AsUser(pool)  # as_owner: the positions are no user's
        self.listen_dsn = listen_dsn
        self._known: dict[str, int] = {}
        self._moved = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._listener = asyncio.create_task(self._listen(), name="projection-positions")

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener

    def known(self, names: Iterable[str]) -> int:
        return min((self._known.get(name, 0) for name in names), default=0)

    async def reached(self, names: tuple[str, ...], position: int, timeout: float) -> bool:
        """Whether every named projection reaches ``position`` within ``timeout`` s."""
        if self.known(names) >= position:
            return True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            await self._refresh(names)
            if self.known(names) >= position:
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self._moved.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._moved.wait(), min(remaining, _RECHECK_SECONDS))

    async def head(self) -> int:
        [(head,)] = await self.reads.as_owner(self.HEAD, ())
        return int(head)

    async def _refresh(self, names: tuple[str, ...]) -> None:
        for name, position in await self.reads.as_owner(self.POSITIONS, (list(names),)):
            self._note(name, int(position))

    def _note(self, name: str, position: int) -> None:
        if position > self._known.get(name, 0):
            self._known[name] = position
            self._moved.set()

    async def _listen(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.listen_dsn, autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {POSITIONS_CHANNEL}")
                    async for notification in conn.notifies():
                        name, _, position = notification.payload.rpartition(" ")
                        self._note(name, int(position))
            except (psycopg.Error, OSError, ValueError) as error:
                log.warning("consistency.listen_failed", error=type(error).__name__)
            await asyncio.sleep(_RELISTEN_SECONDS)


class ReadYourWrites:
    def __init__(
        self,
        client: redis.asyncio.Redis[bytes],
        positions: ProjectionPositions,
        timeout: float,
    ) -> None:
        self.client = client
        self.positions = positions
        self.timeout = timeout
        self._raise_position = client.register_script(_RAISE_POSITION)

    async def remember(self, user_id: str, position: int) -> None:
        """Record a user's write; the write has committed, so a Redis outage only logs."""
        try:
            await self._raise_position(
                keys=[position_key(user_id)], args=[position, _REMEMBER_SECONDS]
            )
        except redis.RedisError as error:
            log.warning("consistency.remember_failed", error=type(error).__name__)

    async def wait(
        self,
        user_id: str,
        min_position: int,
        projections: tuple[str, ...],
        last_write: int | None = None,
    ) -> None:
        """Return once ``projections`` reflect the user's last write and ``min_position``;
        ``last_write``: the user's position if this request has read it already."""
        if last_write is None:
            last_write = await self._last_write(user_id)
        required = max(min_position, last_write)
        if self.positions.known(projections) >= required:
            return
        if min_position > (head := await self.positions.head()):
            raise PositionBeyondHeadError(min_position, head)  # at once: it would never come
        if not await self.positions.reached(projections, required, self.timeout):
            raise ProjectionsBehindError(required, self.timeout)

    async def _last_write(self, user_id: str) -> int:
        try:
            value = await self.client.get(position_key(user_id))
        except redis.RedisError as error:
            log.warning("consistency.lookup_failed", error=type(error).__name__)
            return 0
        return int(value) if value else 0


@contextlib.asynccontextmanager
async def read_your_writes(container: Container, serving: Serving) -> AsyncIterator[ReadYourWrites]:
    """This API process's read-your-writes, listening for positions while it serves."""
    listen_dsn = make_conninfo(
        container.database.url,
        application_name=application_name(container.role),
        options=DEAD_CLIENT_OPTIONS,  # a listener gone quiet would hold the NOTIFY queue
    )
    positions = ProjectionPositions(serving.pool, listen_dsn)
    positions.start()
    try:
        yield ReadYourWrites(serving.redis, positions, container.read_wait_seconds)
    finally:
        await positions.stop()


def position_key(user_id: str) -> str:
    """Where a user's last write position is kept in Redis."""
    return f"pcem:ryw:{user_id}"
