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

import calendar
import json
from datetime import date, datetime, timedelta
from functools import singledispatchmethod
from typing import Any, ClassVar
from uuid import UUID

import psycopg
from sqlalchemy import Connection, text

from pcem.aggregates.event import CalendarEvent, schedule_of
from pcem.aggregates.person import Person
from pcem.aggregates.reminders import Reminder, Standing, held_back_by, reminders, standing
from pcem.aggregates.settings import MAX_LEAD_DAYS, Preferences, UserSettings
from pcem.projections.base import Projection
from pcem.projections.horizon import Horizon
from pcem.projections.writes import deferred, read, write, write_many

# What the schedule needs of a special event (hidden ones too: their rows stay,
# cancelled), with its user's settings and the horizon, in one round trip.
SCHEDULABLE_EVENT = (
    "SELECT e.id, e.user_id, e.person_id, e.title, e.event_date, e.recurrence, e.hidden,"
    " trim(p.first_name || ' ' || p.last_name) AS person_name, s.timezone, s.notifications,"
    " h.starts_at AS horizon_starts_at, h.ends_at AS horizon_ends_at"
    " FROM events e JOIN people p ON p.id = e.person_id"
    " LEFT JOIN user_settings s ON s.user_id = e.user_id CROSS JOIN occurrence_horizon h"
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
    schedule = schedule_of(event.event_date, event.recurrence)
    rows = []
    for reminder in reminders(schedule, preferences, *window):
        row = _row(event, reminder)
        row["status"], row["cancel_reason"] = standing(
            reminder.due_at, held_back=held_back, at=at, before=_standing(before.get(row["id"]))
        )
        rows.append(row)
    return rows


def _standing(row: Any) -> Standing | None:
    return None if row is None else Standing(row.due_at, row.status, row.cancel_reason)


def _row(event: Any, reminder: Reminder) -> dict[str, Any]:
    return {
        "id": reminder.id(event.id),
        "user_id": event.user_id,
        "event_id": event.id,
        "person_id": event.person_id,
        "channel": reminder.channel,
        "channel_key": reminder.channel_key,
        "lead_time_days": reminder.lead_time_days,
        "occurrence_date": reminder.occurrence.local_date,
        "occurs_at": reminder.occurrence.occurs_at,
        "due_at": reminder.due_at,
        "person_name": event.person_name,
        "title": event.title,
    }


def schedule_window(event: Any) -> Window:
    """The window of the horizon read with a ``SCHEDULABLE_EVENT`` row."""
    occurs_from, due_until = Horizon(event.horizon_starts_at, event.horizon_ends_at).schedule
    return occurs_from, due_until, None


# The events that can have a reminder due in the window's new days: a superset, found
# in SQL so that the keeper's daily pass need not visit every special event in Python
# (the reminders are then computed exactly). A one-off date must lie at most a lead
# time (and a few days) after the new due dates; a yearly all-day date must fall on
# one of the month-days those dates reach with its user's lead times
# (``_month_days``, gathered once per user); other series are all visited.
TAIL_EVENTS = text(
    "WITH days AS MATERIALIZED (SELECT s.user_id, array_agg(day) AS month_days"  # noqa: S608
    " FROM user_settings s"
    " CROSS JOIN jsonb_array_elements_text(s.notifications -> 'lead_time_days') AS lead"
    " CROSS JOIN jsonb_array_elements_text(CAST(:month_days AS jsonb) -> lead) AS day"
    " GROUP BY s.user_id),"
    " candidates AS MATERIALIZED (SELECT e.id FROM events e"
    " LEFT JOIN days ON days.user_id = e.user_id"
    " WHERE e.deleted_at IS NULL AND e.is_special_event AND CASE"
    " WHEN e.recurrence = 'none' THEN left(e.event_date, 10) BETWEEN :first_day AND :last_day"
    " WHEN e.recurrence = 'yearly' AND e.all_day THEN substring(e.event_date from 6 for 5)"
    "  = ANY(coalesce(days.month_days, CAST(:default_days AS text[])))"
    " ELSE true END) " + SCHEDULABLE_EVENT + " AND e.id IN (SELECT id FROM candidates)"
)
DROP_PASSED = text("DELETE FROM notification_schedule WHERE occurs_at < :occurs_from")
EXTEND_ROWS_PER_WRITE = 5000
# Local dates lie within a day of UTC ones; a due time moved past a skipped day, two.
_DATE_SLACK = timedelta(days=2)


def extend_schedule(conn: Connection, previous: Horizon, target: Horizon) -> None:
    """Move the schedule's window from ``previous`` to ``target`` (the keeper's part):
    drop the reminders of occurrences now past it, add those newly due within it.

    The added rows come from the window's edge moving, not from an event: nothing
    has asked for them before, so they are scheduled (or held back) as they stand.
    """
    occurs_from, due_until = target.schedule
    due_from = previous.schedule[1]
    conn.execute(DROP_PASSED, {"occurs_from": occurs_from})
    window = (occurs_from, due_until, due_from)
    rows: list[dict[str, Any]] = []
    candidates = _candidates(due_from, due_until)
    events = conn.execute(TAIL_EVENTS, candidates, execution_options={"yield_per": 2000})
    for event in events:
        rows += reminder_rows(event, preferences_of(event), window, None, {})
        if len(rows) >= EXTEND_ROWS_PER_WRITE:
            write_many(conn, INSERT_NEW_REMINDER, rows)
            rows = []
    write_many(conn, INSERT_NEW_REMINDER, rows)


def _candidates(due_from: datetime, due_until: datetime) -> dict[str, Any]:
    first, last = due_from.date() - _DATE_SLACK, due_until.date() + _DATE_SLACK
    by_lead = {lead: _month_days(first, last, lead) for lead in range(MAX_LEAD_DAYS + 1)}
    defaults = Preferences().lead_time_days
    return {
        "first_day": first.isoformat(),
        "last_day": (last + timedelta(days=MAX_LEAD_DAYS)).isoformat(),
        "month_days": json.dumps({str(lead): days for lead, days in by_lead.items()}),
        "default_days": sorted({day for lead in defaults for day in by_lead[lead]}),
    }


def _month_days(first: date, last: date, lead: int) -> list[str]:
    """The month-days ("MM-DD") of yearly dates falling ``lead`` days after ``first..last``
    (a 29 February falls on 28 February in other years)."""
    found = set()
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset + lead)
        found.add(day.strftime("%m-%d"))
        if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
            found.add("02-29")
    return sorted(found)


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
        rows = [
            row
            for scheduled in events
            for row in reminder_rows(
                scheduled, preferences, schedule_window(scheduled), event.timestamp, before
            )
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
        window = schedule_window(scheduled)
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
        changed = [row for row in rows if before.get(row["id"]) != tuple(row[c] for c in COLUMNS)]
        write_many(conn, UPSERT_REMINDER, changed)
