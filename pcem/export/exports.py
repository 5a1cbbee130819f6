"""The export's formats, and the stream of one: opened on one snapshot, as the user."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from eventsourcing.persistence import Mapper
from psycopg_pool import AsyncConnectionPool

from pcem.database.row_security import AsUser
from pcem.export.as_icalendar import as_icalendar
from pcem.export.as_json import as_json
from pcem.export.as_vcard import as_vcard
from pcem.export.run import ExportRun


@dataclass(frozen=True)
class Format:
    media_type: str
    extension: str  # of the file it is saved as
    write: Callable[[ExportRun], AsyncIterator[bytes]]


JSON = Format("application/json", "json", as_json)
VCARD = Format("text/vcard", "vcf", as_vcard)
ICALENDAR = Format("text/calendar", "ics", as_icalendar)
FORMATS = (JSON, VCARD, ICALENDAR)  # in the order preferred when a client has none


class ExportsBusyError(Exception):
    """As many exports as this process allows are streaming already (a 503)."""

    def __init__(self) -> None:
        super().__init__("too many exports are in progress; try again shortly")


class Exports:
    """Each export holds one of the pool's connections while it streams, for as long
    as its client takes: at most ``at_once`` of them stream at a time in a process,
    so downloads cannot take every connection from the other requests."""

    def __init__(
        self, pool: AsyncConnectionPool, mapper: Callable[[], Mapper[Any]], *, at_once: int
    ) -> None:
        self.reads = AsUser(pool)
        self.mapper = mapper  # asked for by each export: the API starts without a database
        self.at_once = at_once
        self.streaming = 0

    async def open(self, user_id: str, format: Format) -> AsyncIterator[bytes]:
        """The user's export in ``format``, its first piece already read: a database
        that cannot answer fails here, before an answer has begun (a 503), rather than
        in the middle of a 200."""
        mapper = await anyio.to_thread.run_sync(self.mapper)  # may open the event store
        if self.streaming >= self.at_once:  # no await from here to the count in _chunks
            raise ExportsBusyError()
        chunks = self._chunks(user_id, format, mapper)
        try:
            first = await anext(chunks)
        except StopAsyncIteration:  # nothing to write (no live person: no card)
            return _nothing()
        return _after(first, chunks)

    async def _chunks(
        self, user_id: str, format: Format, mapper: Mapper[Any]
    ) -> AsyncGenerator[bytes, None]:
        self.streaming += 1  # counted before its first await; its finally counts it out
        try:
            async with self.reads.streaming(user_id) as snapshot:
                async for chunk in format.write(ExportRun(snapshot, user_id, mapper)):
                    yield chunk
        finally:
            self.streaming -= 1


async def _after(first: bytes, rest: AsyncGenerator[bytes, None]) -> AsyncIterator[bytes]:
    # aclosing: a stream closed early (the client gone) closes its snapshot at once.
    async with aclosing(rest) as chunks:
        yield first
        async for chunk in chunks:
            yield chunk


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield  # an async generator that yields nothing
