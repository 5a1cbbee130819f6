"""Queries over the calendar read model. Every method takes ``user_id`` first."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, RowMapping, text

from pcem.aggregates.event import schedule_of
from pcem.aggregates.occurrences import occurrences
from pcem.projections.calendar import VISIBLE_EVENT, user_zone
from pcem.projections.horizon import Horizon

EVENT_COLUMNS = (
    "id, person_id, title, event_date, all_day, is_special_event, recurrence, notes,"
    " version, created_at, updated_at"
)


Window = Callable[[ZoneInfo], tuple[datetime, datetime]]


@dataclass(frozen=True)
class EventRow:
    id: UUID
    person_id: UUID
    title: str
    event_date: str
    all_day: bool
    is_special_event: bool
    recurrence: str
    notes: str
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: RowMapping) -> EventRow:
        return cls(**row)

    @property
    def sort_key(self) -> tuple[datetime, UUID]:
        return (self.created_at, self.id)


@dataclass(frozen=True, order=True)
class OccurrenceRow:
    occurs_at: datetime
    event_id: UUID
    local_date: date
    person_id: UUID
    person_name: str
    title: str
    is_special_event: bool


class CalendarView:
    GET_EVENT = text(
        f"SELECT {EVENT_COLUMNS} FROM events"  # noqa: S608 (a constant column list)
        " WHERE user_id = :user_id AND id = :id AND deleted_at IS NULL AND NOT hidden"
    )
    UPCOMING = text(
        "SELECT occurs_at, event_id, local_date, person_id, person_name, title, is_special_event"
        " FROM occurrences WHERE user_id = :user_id AND occurs_at >= :start AND occurs_at < :end"
        " AND (is_special_event OR NOT :special_only) ORDER BY occurs_at, event_id"
    )
    USER_EVENTS = text(VISIBLE_EVENT + " AND e.user_id = :user_id")
    ZONE_AND_HORIZON = text(
        "SELECT (SELECT timezone FROM user_settings WHERE user_id = :user_id) AS timezone,"
        " starts_at, ends_at FROM occurrence_horizon"
    )

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, user_id: str, event_id: UUID) -> EventRow | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(self.GET_EVENT, {"user_id": user_id, "id": event_id})
                .mappings()
                .first()
            )
        return EventRow.from_row(row) if row else None

    def page(
        self,
        user_id: str,
        person_id: UUID | None,
        *,
        after: tuple[datetime, UUID] | None,
        limit: int,
    ) -> list[EventRow]:
        """Visible events oldest first, optionally of one person."""
        where = ["user_id = :user_id", "deleted_at IS NULL", "NOT hidden"]
        params: dict[str, object] = {"user_id": user_id, "limit": limit}
        if person_id is not None:
            where.append("person_id = :person_id")
            params["person_id"] = person_id
        if after is not None:
            where.append("(created_at, id) > (:after_at, :after_id)")
            params.update(after_at=after[0], after_id=after[1])
        statement = text(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE {' AND '.join(where)}"  # noqa: S608
            " ORDER BY created_at, id LIMIT :limit"
        )
        with self.engine.connect() as conn:
            rows = conn.execute(statement, params).mappings().all()
        return [EventRow.from_row(r) for r in rows]

    def upcoming(
        self, user_id: str, window: Window, *, special_only: bool
    ) -> tuple[ZoneInfo, list[OccurrenceRow]]:
        """The user's zone, and the occurrences with ``start <= occurs_at < end`` for the
        ``window`` computed in that zone: read from the materialised table inside the
        horizon (one connection, two round trips), computed from the events outside it."""
        with self.engine.connect() as conn:
            found = conn.execute(self.ZONE_AND_HORIZON, {"user_id": user_id}).one()
            zone = ZoneInfo(found.timezone or "UTC")
            start, end = window(zone)
            if Horizon(found.starts_at, found.ends_at).covers(start, end):
                params = {
                    "user_id": user_id,
                    "start": start,
                    "end": end,
                    "special_only": special_only,
                }
                # Positional rows: building one mapping per row costs more than the query.
                rows = conn.execute(self.UPCOMING, params).all()
                return zone, [OccurrenceRow(*r) for r in rows]
        return zone, self.computed_upcoming(user_id, start, end, special_only=special_only)

    def computed_upcoming(
        self, user_id: str, start: datetime, end: datetime, *, special_only: bool
    ) -> list[OccurrenceRow]:
        """The same answer, expanded from the events table (for any range, anywhere in time)."""
        with self.engine.connect() as conn:
            zone = user_zone(conn, user_id)
            events = conn.execute(self.USER_EVENTS, {"user_id": user_id}).all()
        return sorted(
            OccurrenceRow(
                o.occurs_at,
                e.id,
                o.local_date,
                e.person_id,
                e.person_name,
                e.title,
                e.is_special_event,
            )
            for e in events
            if e.is_special_event or not special_only
            for o in occurrences(schedule_of(e.event_date, e.recurrence), zone, start, end)
        )
