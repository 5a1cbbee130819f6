"""Queries over the calendar read model. Every method takes ``user_id`` first.

Async, on the API's psycopg pool, as the user (``pcem.database.row_security``): a
read costs no thread hop, and rows become Structs straight from psycopg's tuples.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, NamedTuple
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec
from psycopg_pool import AsyncConnectionPool

from pcem.aggregates.event import CalendarEvent, schedule_of
from pcem.aggregates.occurrences import occurrences
from pcem.database.row_security import AsUser, Row
from pcem.projections.calendar import VISIBLE_EVENT
from pcem.projections.horizon import Horizon

DATE_OR_INSTANT = {
    "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]
}
"""An ``event_date``: a calendar date (all day) or an RFC 3339 instant, as the OpenAPI
document declares it (generated clients then parse and send ``date`` or ``datetime``)."""
EventDate = Annotated[str, msgspec.Meta(extra_json_schema={"extra": DATE_OR_INSTANT})]

EVENT_COLUMNS = (
    "id, person_id, title, event_date, all_day, is_special_event, recurrence, notes,"
    " version, created_at, updated_at"
)


@dataclass(frozen=True)
class NextDays:
    """The next ``days`` local days: from the user's local midnight today, in their zone."""

    days: int

    def window(self, zone: ZoneInfo, today: date) -> tuple[datetime, datetime]:
        end = today + timedelta(days=self.days)
        return _local_midnight(today, zone), _local_midnight(end, zone)


@dataclass(frozen=True)
class Between:
    """A range of instants (aware, in UTC), whatever the user's zone."""

    start: datetime
    end: datetime

    def window(self, zone: ZoneInfo, today: date) -> tuple[datetime, datetime]:
        return self.start, self.end


# Which occurrences the upcoming query answers: a range already valid (the API checks
# it), which the view resolves in the zone it reads, in its snapshot.
Span = NextDays | Between


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


class EventRow(msgspec.Struct):
    """An event as every read answers it (API.md's ``Event``, in its field order)."""

    id: UUID
    person_id: UUID
    title: str
    event_date: EventDate
    all_day: bool
    is_special_event: bool
    recurrence: str
    notes: str
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, event: CalendarEvent) -> EventRow:
        """An event as just saved (or as it was), in the shape every read answers."""
        return cls(
            event.id, event.person_id, event.title, event.event_date, event.all_day,
            event.is_special_event, event.recurrence, event.notes, event.version,
            event.created_on, event.modified_on,
        )  # fmt: skip

    @property
    def sort_key(self) -> tuple[datetime, UUID]:
        return (self.created_at, self.id)


class Occurrence(msgspec.Struct):
    """One occurrence, exactly as the API answers it (fields in API.md's order, then
    ``all_day``; the upcoming query's columns too). Built straight from psycopg's
    tuples: a dataclass took 2.5 µs a row, more than the query itself at 450 rows."""

    event_id: UUID
    person_id: UUID
    person_name: str
    title: str
    is_special_event: bool
    occurs_at: datetime
    local_date: date
    days_until: int  # whole local days from the user's today
    all_day: bool  # a calendar date (occurs_at is local midnight), not a moment

    @property
    def sort_key(self) -> tuple[datetime, UUID]:
        return (self.occurs_at, self.event_id)


class CalendarView:
    GET_EVENT = (
        f"SELECT {EVENT_COLUMNS} FROM events"  # noqa: S608 (a constant column list)
        " WHERE user_id = %(user_id)s AND id = %(id)s AND deleted_at IS NULL AND NOT hidden"
    )
    UPCOMING = (
        "SELECT event_id, person_id, person_name, title, is_special_event, occurs_at, local_date,"
        " local_date - %(today)s::date, all_day FROM occurrences"
        " WHERE user_id = %(user_id)s AND occurs_at >= %(start)s AND occurs_at < %(end)s"
        " AND (is_special_event OR NOT %(special_only)s)"
        " ORDER BY occurs_at, event_id"
    )
    USER_EVENTS = VISIBLE_EVENT + " AND e.user_id = %(user_id)s"
    ZONE_AND_HORIZON = (
        "SELECT (SELECT timezone FROM user_settings WHERE user_id = %(user_id)s),"
        " starts_at, ends_at FROM occurrence_horizon"
    )

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.reads = AsUser(pool)

    async def get(self, user_id: str, event_id: UUID) -> EventRow | None:
        params = {"user_id": user_id, "id": event_id}
        rows = await self.reads.fetchall(user_id, self.GET_EVENT, params)
        return EventRow(*rows[0]) if rows else None

    async def page(
        self,
        user_id: str,
        person_id: UUID | None,
        *,
        after: tuple[datetime, UUID] | None,
        limit: int,
    ) -> list[EventRow]:
        """Visible events oldest first, optionally of one person."""
        where = ["user_id = %(user_id)s", "deleted_at IS NULL", "NOT hidden"]
        params: dict[str, object] = {"user_id": user_id, "limit": limit}
        if person_id is not None:
            where.append("person_id = %(person_id)s")
            params["person_id"] = person_id
        if after is not None:
            where.append("(created_at, id) > (%(after_at)s, %(after_id)s)")
            params.update(after_at=after[0], after_id=after[1])
        statement = (
            f"SELECT {EVENT_COLUMNS} FROM events WHERE {' AND '.join(where)}"  # noqa: S608
            " ORDER BY created_at, id LIMIT %(limit)s"
        )
        rows = await self.reads.fetchall(user_id, statement, params)
        return [EventRow(*r) for r in rows]

    async def upcoming(
        self,
        user_id: str,
        span: Span,
        *,
        special_only: bool,
        now: datetime,
        materialised: bool = True,
    ) -> tuple[ZoneInfo, list[Occurrence]]:
        """The user's zone, and the occurrences with ``start <= occurs_at < end`` for the
        ``span`` resolved in that zone (``days_until`` counted from ``now``'s date
        there): read from the materialised table inside the horizon, computed from the
        events outside it (or always, with ``materialised=False``: the tests compare)."""
        # In binary: text decoding costs more than the query (docs/performance.md).
        # One snapshot: a zone change or a horizon move committing between the
        # statements must not mix its before and after into one answer. Two round
        # trips: BEGIN, the user and the zone; then the rows and COMMIT.
        async with self.reads.snapshot(user_id, binary=True) as snapshot:
            [[state]] = await snapshot.fetchall((self.ZONE_AND_HORIZON, {"user_id": user_id}))
            timezone, starts_at, ends_at = state  # the horizon: one row
            zone = ZoneInfo(timezone or "UTC")
            today = now.astimezone(zone).date()
            start, end = span.window(zone, today)
            if materialised and Horizon(starts_at, ends_at).covers(start, end):
                params = {
                    "user_id": user_id,
                    "start": start,
                    "end": end,
                    "today": today,
                    "special_only": special_only,
                }
                [rows] = await snapshot.fetchall((self.UPCOMING, params), last=True)
                return zone, [Occurrence(*row) for row in rows]
            [events] = await snapshot.fetchall((self.USER_EVENTS, {"user_id": user_id}), last=True)
        return zone, _computed(events, zone, start, end, today, special_only=special_only)


class _VisibleEvent(NamedTuple):
    """A row of ``VISIBLE_EVENT``."""

    id: UUID
    user_id: str
    person_id: UUID
    title: str
    event_date: str
    all_day: bool
    recurrence: str
    is_special_event: bool
    person_name: str


def _computed(
    events: Iterable[Row],
    zone: ZoneInfo,
    start: datetime,
    end: datetime,
    today: date,
    *,
    special_only: bool,
) -> list[Occurrence]:
    """The occurrences of ``events`` (rows of ``VISIBLE_EVENT``) in ``start..end``."""
    return sorted(
        (
            Occurrence(
                e.id,
                e.person_id,
                e.person_name,
                e.title,
                e.is_special_event,
                o.occurs_at,
                o.local_date,
                (o.local_date - today).days,
                e.all_day,
            )
            for e in (_VisibleEvent(*row) for row in events)
            if e.is_special_event or not special_only
            for o in occurrences(schedule_of(e.event_date, e.recurrence), zone, start, end)
        ),
        key=lambda row: row.sort_key,
    )
