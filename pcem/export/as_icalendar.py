"""The iCalendar export: every live event of a live person, exactly as the calendar
feed writes them (``pcem.projections.ical_feed``), its rows read by the feed's own
statement, a batch at a time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from zoneinfo import ZoneInfo

from pcem.database.row_security import Row
from pcem.export.run import BATCH, ExportRun
from pcem.projections.calendar_feed_view import EARLIEST_TIMED_SERIES, EVENTS, ZONE
from pcem.projections.ical_feed import END, FeedEvent, head, vevent, zone_year


async def as_icalendar(run: ExportRun) -> AsyncIterator[bytes]:
    zones, earliest = await run.snapshot.fetchall(
        (ZONE, run.params), (EARLIEST_TIMED_SERIES, run.params)
    )
    zone = ZoneInfo(zones[0][0] if zones else "UTC")
    yield head(
        zone, *[zone_year(start, recurrence, zone) for start, recurrence in earliest]
    ).encode()
    async for rows in run.snapshot.batches((EVENTS, run.params), BATCH):
        yield await run.off_the_loop(_events, rows, zone)
    yield END.encode()


def _events(rows: Sequence[Row], zone: ZoneInfo) -> bytes:
    return "".join(vevent(FeedEvent(*row), zone) for row in rows).encode()
