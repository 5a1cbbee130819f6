"""Following one user's in-app notifications as they are sent, on any API replica.

A follower wakes when the user's Redis pub/sub channel says one was sent, and
reads the ledger then and at least every ``poll_seconds`` anyway: pub/sub keeps
nothing, and the worker publishes *before* it marks the row sent, so a wake-up
is followed by quick re-reads for a moment. What it yields is read from the
ledger, in ``(sent_at, id)`` order, each with the point to resume after.

Rows a worker committed late (its ``sent_at`` is earlier than one already
yielded) are still yielded: the follower re-reads a window of ``OVERLAP``
before its position and remembers the ids it yielded in that window. Redis
being down only slows it to polling; it resubscribes when Redis is back.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from datetime import timedelta
from uuid import UUID

import anyio
import psycopg
import redis
import redis.asyncio
import structlog

from pcem.notifications.in_app import Key, SentInApp, inbox_channel
from pcem.notifications.inbox import NotificationRow

log = structlog.get_logger(__name__)

OVERLAP = timedelta(minutes=5)  # longer than any worker takes from its claim to its commit
READ_BATCH = 100
EAGER_SECONDS = 1.0  # after a wake-up: re-read every EAGER_INTERVAL for this long
EAGER_INTERVAL = 0.05
RESUBSCRIBE_SECONDS = 5.0


@dataclass(frozen=True)
class Sent:
    """One notification to pass on, and the point a reconnecting client resumes after."""

    notification: NotificationRow
    resume_after: Key


# Comments for the client, not events: the stream is open, and still open.
CONNECTED = "connected"  # first: subscribed, so nothing sent from here on is missed
KEEPALIVE = "keepalive"  # whenever nothing else was yielded for ``keepalive_seconds``


@dataclass
class InAppFeed:
    """Builds followers; one per API process (``Serving.in_app``)."""

    reads: SentInApp
    redis: redis.asyncio.Redis[bytes]
    poll_seconds: float = 1.0
    keepalive_seconds: float = 10.0

    async def follow(self, user_id: str, after: Key | None) -> Follower:
        """A follower of ``user_id`` from just after ``after`` (from now, if None).

        Reads the ledger once here, so a database that is down fails the request
        before any of the stream is sent."""
        start = after or await self.reads.latest(user_id)
        follower = Follower(self, user_id, start)
        await follower.remember_up_to_start()
        return follower


@dataclass
class Follower:
    feed: InAppFeed
    user_id: str
    position: Key | None
    seen: dict[UUID, Key] = field(default_factory=dict)  # yielded within OVERLAP of position

    async def remember_up_to_start(self) -> None:
        """What is at or before the start counts as seen: the client has it (or, on a
        first connect, it is history, not news)."""
        if self.position is None:
            return
        while rows := await self._read():
            for row in rows:
                if _key(row) <= self.position:
                    self.seen[row.id] = _key(row)
            if len(rows) < READ_BATCH or _key(rows[-1]) > self.position:
                break

    async def events(
        self, until: float, stopping: threading.Event
    ) -> AsyncGenerator[Sent | str, None]:
        """``CONNECTED``, then what is sent, as it is, and ``KEEPALIVE`` whenever nothing
        was for a while. Ends at ``until`` (seconds since the epoch), within a poll once
        ``stopping`` is set (the server stops), or when the database fails (the client
        resumes elsewhere). The subscription and every
        connection are given back however the caller stops iterating."""
        wakeups = _Wakeups(self.feed.redis, inbox_channel(self.user_id))
        try:
            await wakeups.open()
            yield CONNECTED
            async with contextlib.aclosing(self._follow(wakeups, until, stopping)) as items:
                async for item in items:
                    yield item
        except psycopg.OperationalError as error:
            log.warning("notifications.stream_ended", error=type(error).__name__)
        finally:
            await wakeups.close()

    async def _follow(
        self, wakeups: _Wakeups, until: float, stopping: threading.Event
    ) -> AsyncGenerator[Sent | str, None]:
        quiet_since = eager_until = time.monotonic()
        while time.time() < until and not stopping.is_set():
            rows = await self._read()
            for row in rows:
                yield self._passed_on(row)
            now = time.monotonic()
            if rows:
                quiet_since = now
                if len(rows) == READ_BATCH:
                    continue
            elif now - quiet_since >= self.feed.keepalive_seconds:
                yield KEEPALIVE
                quiet_since = now
            interval = EAGER_INTERVAL if now < eager_until else self.feed.poll_seconds
            keepalive_in = quiet_since + self.feed.keepalive_seconds - now
            timeout = max(0.0, min(interval, keepalive_in, until - time.time()))
            if await wakeups.wait(timeout):
                eager_until = time.monotonic() + EAGER_SECONDS

    async def _read(self) -> list[NotificationRow]:
        since = self.position[0] - OVERLAP if self.position else None
        return await self.feed.reads.since(
            self.user_id, since, seen=self.seen.keys(), limit=READ_BATCH
        )

    def _passed_on(self, row: NotificationRow) -> Sent:
        key = _key(row)
        self.position = max(self.position, key) if self.position else key
        self.seen[row.id] = key
        horizon = self.position[0] - OVERLAP
        self.seen = {id_: k for id_, k in self.seen.items() if k[0] >= horizon}
        return Sent(row, self.position)


def _key(row: NotificationRow) -> Key:
    assert row.sent_at is not None  # only sent rows are read
    return (row.sent_at, row.id)


class _Wakeups:
    """Messages on the user's pub/sub channel, as wake-ups. Without Redis, waiting is
    only sleeping; a new subscription is tried every ``RESUBSCRIBE_SECONDS``."""

    def __init__(self, client: redis.asyncio.Redis[bytes], channel: str) -> None:
        self.client = client
        self.channel = channel
        self.pubsub: redis.asyncio.client.PubSub | None = None
        self.retry_at = 0.0

    async def open(self) -> None:
        self.retry_at = time.monotonic() + RESUBSCRIBE_SECONDS
        pubsub = self.client.pubsub()
        try:
            await pubsub.subscribe(self.channel)
            # The confirmation: from here on, nothing published is missed.
            await pubsub.get_message(timeout=2.0)
        except redis.RedisError as error:
            log.warning("notifications.stream_unsubscribed", error=type(error).__name__)
            await _closed(pubsub)
            return
        self.pubsub = pubsub

    async def wait(self, timeout: float) -> bool:
        """Whether a message came within ``timeout`` seconds."""
        if self.pubsub is None and time.monotonic() >= self.retry_at:
            await self.open()
        if self.pubsub is None:
            await anyio.sleep(timeout)
            return False
        deadline = time.monotonic() + timeout
        try:
            while (left := deadline - time.monotonic()) > 0:
                message = await self.pubsub.get_message(True, timeout=left)  # no confirmations
                if message is not None:
                    return True
        except redis.RedisError as error:
            log.warning("notifications.stream_unsubscribed", error=type(error).__name__)
            await self.close()
        return False

    async def close(self) -> None:
        pubsub, self.pubsub = self.pubsub, None
        if pubsub is not None:
            await _closed(pubsub)


async def _closed(pubsub: redis.asyncio.client.PubSub) -> None:
    # Shielded: this also runs when the client has gone and the request is cancelled.
    with anyio.CancelScope(shield=True), contextlib.suppress(redis.RedisError):
        await pubsub.aclose()  # type: ignore[attr-defined]  # (types-redis predates it)
