"""The calendar feed's read: one user's zone and live events, from one snapshot.

Async, on the API's pool, as the user (``pcem.database.row_security``). The zone and
the events are read in one ``REPEATABLE READ`` transaction, in one round trip, so a
zone change committing between them cannot mix into one feed.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from psycopg_pool import AsyncConnectionPool

from pcem.database.row_security import AsUser
from pcem.projections.ical_feed import FeedEvent, render

# Live: neither deleted nor hidden (an event of a deleted person is hidden), as
# ``VISIBLE_EVENT`` decides for the upcoming query.
_LIVE_EVENTS = (
    " FROM events e JOIN people p ON p.id = e.person_id"
    " WHERE e.user_id = %(user_id)s AND e.deleted_at IS NULL AND NOT e.hidden"
    " AND p.user_id = %(user_id)s"  # lets the planner take the user's people by index
    " AND p.deleted_at IS NULL"
)
# Ordered, so the bytes are stable.
EVENTS = (
    "SELECT e.id, trim(p.first_name || ' ' || p.last_name), e.title, e.event_date,"
    " e.recurrence, e.notes, e.created_at, greatest(e.updated_at, p.updated_at)"
    f"{_LIVE_EVENTS} ORDER BY e.created_at, e.id"
)
# The live timed series that starts first (instants are written alike, in UTC, so the
# text orders them), whose year the VTIMEZONE must reach back to (``ical_feed.zone_year``):
# what a calendar streamed piece by piece needs before its events.
EARLIEST_TIMED_SERIES = (
    f"SELECT e.event_date, e.recurrence{_LIVE_EVENTS}"
    " AND length(e.event_date) > 10 AND e.recurrence <> 'none' ORDER BY e.event_date LIMIT 1"
)
ZONE = "SELECT timezone FROM user_settings WHERE user_id = %(user_id)s"


class CalendarFeedView:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.reads = AsUser(pool)

    async def feed(self, user_id: str) -> bytes:
        """The user's feed (``pcem.projections.ical_feed``): one snapshot's zone and events."""
        params = {"user_id": user_id}
        async with self.reads.snapshot(user_id, binary=True) as snapshot:
            zones, rows = await snapshot.fetchall((ZONE, params), (EVENTS, params), last=True)
        zone = ZoneInfo(zones[0][0] if zones else "UTC")
        return render((FeedEvent(*row) for row in rows), zone)
