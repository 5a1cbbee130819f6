"""The notification schedule: one row per reminder of a special event, in a moving window.

A reminder is an occurrence x a lead time x a channel of the user's settings
(``pcem.aggregates.reminders``). The table holds every reminder the current
events and settings ask for whose occurrence is at most two days past and that
is due before the window's end (``Horizon.schedule``); the horizon keeper moves
the window daily. Whatever changes a reminder rewrites it here, in the
transaction of the event that changed it: an event created, edited, deleted,
hidden or shown with its person; a person renamed; new settings (every one of
that user's rows at once).

The rows are a function of the events, so a rebuild reproduces them: a row
exists exactly when the current state asks for it (a moved date, a removed lead
time or channel, a deleted or no longer special event: its rows go), and its
status is decided at the time of the event being applied, never the clock's
(``standing``). What the user can undo (a deleted person, notifications turned
off) keeps the rows, ``cancelled`` with the reason.
"""

from __future__ import annotations

from datetime import datetime
from functools import singledispatchmethod
from typing import Any, ClassVar
from uuid import UUID

import psycopg
from sqlalchemy import Connection, text

from pcem.aggregates.event import CalendarEvent, schedule_of
from pcem.aggregates.person import Person
from pcem.aggregates.reminders import Standing, held_back_by, reminders, standing
from pcem.aggregates.settings import Preferences, UserSettings
from pcem.projections.base import Projection
from pcem.projections.horizon import Horizon, current_horizon
from pcem.projections.writes import deferred, read, write, write_many

# What the schedule needs of a special event: hidden ones too (their rows stay, cancelled).
SCHEDULABLE_EVENT = (
    "SELECT e.id, e.user_id, e.person_id, e.title, e.event_date, e.recurrence, e.hidden,"
    " trim(p.first_name || ' ' || p.last_name) AS person_name, s.timezone, s.notifications"
    " FROM events e JOIN people p ON p.id = e.person_id"
    " LEFT JOIN user_settings s ON s.user_id = e.user_id"
    " WHERE e.deleted_at IS NULL AND e.is_special_event"
)
COLUMNS = (
    "id",
    "user_id",
    "event_id",
    "person_id",
    "channel",
    "channel_key",
    "lead_time_days",
    "occurrence_date",
    "occurs_at",
    "due_at",
    "status",
    "cancel_reason",
    "person_name",
    "title",
)
INSERT_REMINDER = text(
    f"INSERT INTO notification_schedule ({', '.join(COLUMNS)})"  # noqa: S608 (constant SQL)
    f" VALUES ({', '.join(':' + c for c in COLUMNS)})"
)
INSERT_NEW_REMINDER = text(INSERT_REMINDER.text + " ON CONFLICT (id) DO NOTHING")
UPSERT_REMINDER = text(
    INSERT_REMINDER.text
    + " ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in COLUMNS[1:])
)
# Edits that change which reminders an event has, or when they are due.
SCHEDULE_FIELDS = frozenset({"event_date", "recurrence", "is_special_event"})

Window = tuple[datetime, datetime, datetime | None]  # (occurs_from, due_until, due_from)


def preferences_of(row: Any) -> Preferences:
    """The user's settings from a ``SCHEDULABLE_EVENT`` row (defaults if never set)."""
    if row.timezone is None:
        return Preferences()
    return Preferences.from_dict({"timezone": row.timezone, "notifications": row.notifications})


def reminder_rows(
    event: Any,
    preferences: Preferences,
    window: Window,
    at: datetime | None,
    before: dict[UUID, Any],
) -> list[dict[str, Any]]:
    """The rows of one event's reminders within ``window`` (``event``: a
    ``SCHEDULABLE_EVENT`` row), each as it stands when scheduled at ``at``."""
    held_back = held_back_by(person_deleted=event.hidden, enabled=preferences.enabled)
    rows = []
    for reminder in reminders(
        schedule_of(event.event_date, event.recurrence), preferences, *window
    ):
        reminder_id = reminder.id(event.id)
        previous = before.get(reminder_id)
        status, reason = standing(
            reminder.due_at,
            held_back=held_back,
            at=at,
            before=None
            if previous is None
            else Standing(previous.due_at, previous.status, previous.cancel_reason),
        )
        rows.append(
            {
                "id": reminder_id,
                "user_id": event.user_id,
                "event_id": event.id,
                "person_id": event.person_id,
                "channel": reminder.channel,
                "channel_key": reminder.channel_key,
                "lead_time_days": reminder.lead_time_days,
                "occurrence_date": reminder.occurrence.local_date,
                "occurs_at": reminder.occurrence.occurs_at,
                "due_at": reminder.due_at,
                "status": status,
                "cancel_reason": reason,
                "person_name": event.person_name,
                "title": event.title,
            }
        )
    return rows


def schedule_window(conn: Connection) -> Window:
    occurs_from, due_until = current_horizon(conn).schedule
    return occurs_from, due_until, None


ALL_SCHEDULABLE_EVENTS = text(SCHEDULABLE_EVENT)
DROP_PASSED = text("DELETE FROM notification_schedule WHERE occurs_at < :occurs_from")
EXTEND_ROWS_PER_WRITE = 5000


def extend_schedule(conn: Connection, previous: Horizon, target: Horizon) -> None:
    """Move the schedule's window from ``previous`` to ``target`` (the keeper's part):
    drop the reminders of occurrences now past it, add those newly due within it.

    The added rows come from the window's edge moving, not from an event: nothing
    has asked for them before, so they are scheduled (or held back) as they stand.
    """
    occurs_from, due_until = target.schedule
    conn.execute(DROP_PASSED, {"occurs_from": occurs_from})
    window = (occurs_from, due_until, previous.schedule[1])
    rows: list[dict[str, Any]] = []
    events = conn.execute(ALL_SCHEDULABLE_EVENTS, execution_options={"yield_per": 2000})
    for event in events:
        rows += reminder_rows(event, preferences_of(event), window, None, {})
        if len(rows) >= EXTEND_ROWS_PER_WRITE:
            write_many(conn, INSERT_NEW_REMINDER, rows)
            rows = []
    write_many(conn, INSERT_NEW_REMINDER, rows)


class RenamedInSchedule:
    """People renamed in a batch: their reminders take the new name in one statement,
    after the people rows are written (hence the later rank)."""

    rank: ClassVar[int] = 1

    RENAME = (
        "UPDATE notification_schedule s SET person_name = trim(p.first_name || ' ' || p.last_name)"
        " FROM people p WHERE p.id = ANY(%b::uuid[]) AND s.person_id = p.id"
    )

    def __init__(self) -> None:
        self.ids: set[UUID] = set()

    def flush(self, cursor: psycopg.Cursor[Any]) -> None:
        cursor.execute(self.RENAME, [list(self.ids)])


class ScheduleTables(Projection):
    name = "schedule-tables"
    tables = ("notification_schedule",)

    SCHEDULABLE_BY_ID = text(SCHEDULABLE_EVENT + " AND e.id = :id")
    SCHEDULABLE_BY_USER = text(SCHEDULABLE_EVENT + " AND e.user_id = :user_id")
    EVENT_REMINDERS = text(
        f"SELECT {', '.join(COLUMNS)} FROM notification_schedule"  # noqa: S608 (constant SQL)
        " WHERE event_id = :event_id"
    )
    USER_REMINDERS = text(
        f"SELECT {', '.join(COLUMNS)} FROM notification_schedule"  # noqa: S608 (constant SQL)
        " WHERE user_id = :user_id"
    )
    DELETE_EVENT_REMINDERS = text("DELETE FROM notification_schedule WHERE event_id = :event_id")
    DELETE_REMINDERS = text(
        "DELETE FROM notification_schedule WHERE id = ANY(CAST(:ids AS uuid[]))"
    )
    RETITLE = text("UPDATE notification_schedule SET title = :title WHERE event_id = :event_id")

    @singledispatchmethod
    def process_event(self, event: Any, conn: Connection) -> None:
        """Other events do not touch the schedule."""

    @process_event.register
    def _created(self, event: CalendarEvent.Created, conn: Connection) -> None:
        if event.is_special_event:  # a new event has no rows yet: nothing to read
            self._reschedule_event(conn, event.originator_id, event.timestamp, fresh=True)

    @process_event.register
    def _updated(self, event: CalendarEvent.Updated, conn: Connection) -> None:
        if SCHEDULE_FIELDS & event.changes.keys():
            self._reschedule_event(conn, event.originator_id, event.timestamp)
        elif "title" in event.changes:
            write(conn, self.RETITLE, {"event_id": event.originator_id, **event.changes})

    @process_event.register
    def _deleted(self, event: CalendarEvent.Deleted, conn: Connection) -> None:
        write(conn, self.DELETE_EVENT_REMINDERS, {"event_id": event.originator_id})

    @process_event.register
    def _hidden(self, event: CalendarEvent.HiddenWithPerson, conn: Connection) -> None:
        self._reschedule_event(conn, event.originator_id, event.timestamp)

    @process_event.register
    def _shown(self, event: CalendarEvent.ShownWithPerson, conn: Connection) -> None:
        self._reschedule_event(conn, event.originator_id, event.timestamp)

    @process_event.register
    def _person_updated(self, event: Person.Updated, conn: Connection) -> None:
        if "first_name" in event.changes or "last_name" in event.changes:
            deferred(conn, RenamedInSchedule).ids.add(event.originator_id)

    @process_event.register
    def _settings_changed(self, event: UserSettings.Changed, conn: Connection) -> None:
        # A new zone, delivery time, lead time or channel moves every reminder at once.
        preferences = Preferences.from_dict(event.settings)
        events = read(conn, self.SCHEDULABLE_BY_USER, {"user_id": event.user_id})
        before = {r.id: r for r in read(conn, self.USER_REMINDERS, {"user_id": event.user_id})}
        window = schedule_window(conn)
        rows = [
            row
            for scheduled in events
            for row in reminder_rows(scheduled, preferences, window, event.timestamp, before)
        ]
        self._replace(conn, rows, before)

    def _reschedule_event(
        self, conn: Connection, event_id: UUID, at: datetime, *, fresh: bool = False
    ) -> None:
        found = read(conn, self.SCHEDULABLE_BY_ID, {"id": event_id})
        if not found:  # not special (any more): no reminders
            write(conn, self.DELETE_EVENT_REMINDERS, {"event_id": event_id})
            return
        (scheduled,) = found
        before = {} if fresh else self._event_reminders(conn, event_id)
        window = schedule_window(conn)
        rows = reminder_rows(scheduled, preferences_of(scheduled), window, at, before)
        self._replace(conn, rows, before)

    def _event_reminders(self, conn: Connection, event_id: UUID) -> dict[UUID, Any]:
        return {r.id: r for r in read(conn, self.EVENT_REMINDERS, {"event_id": event_id})}

    def _replace(
        self, conn: Connection, rows: list[dict[str, Any]], before: dict[UUID, Any]
    ) -> None:
        """Make the rows that were ``before`` into ``rows``, writing only what changed."""
        wanted = {row["id"] for row in rows}
        gone = [reminder_id for reminder_id in before if reminder_id not in wanted]
        if gone:
            write(conn, self.DELETE_REMINDERS, {"ids": gone})
        changed = [row for row in rows if before.get(row["id"]) != tuple(row.values())]
        write_many(conn, UPSERT_REMINDER, changed)
