"""The calendar read model: ``events``, ``occurrences`` and ``user_settings``.

Occurrences of every visible event are materialised inside the horizon, with
the person's name and the event's title, so the upcoming query is a single
index range scan. Whatever moves occurrences rewrites them here: an edited
date or recurrence, a hidden or deleted event, a changed time zone.
"""

from __future__ import annotations

from datetime import datetime
from functools import singledispatchmethod
from typing import Any, ClassVar
from uuid import UUID
from zoneinfo import ZoneInfo

import psycopg
from sqlalchemy import Connection, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.expression import bindparam

from pcem.aggregates.event import CalendarEvent, schedule_of
from pcem.aggregates.occurrences import occurrences
from pcem.aggregates.ownership import OwnedEvent
from pcem.aggregates.person import Person
from pcem.aggregates.settings import Preferences, UserSettings
from pcem.projections.base import Projection
from pcem.projections.horizon import current_horizon
from pcem.projections.writes import deferred, read, write, write_many

USER_TIMEZONE = text("SELECT timezone FROM user_settings WHERE user_id = :user_id")
VISIBLE_EVENT = (
    "SELECT e.id, e.user_id, e.person_id, e.title, e.event_date, e.all_day, e.recurrence,"
    " e.is_special_event, trim(p.first_name || ' ' || p.last_name) AS person_name"
    " FROM events e JOIN people p ON p.id = e.person_id"
    " WHERE e.deleted_at IS NULL AND NOT e.hidden"
)


def user_zone(conn: Connection, user_id: str) -> ZoneInfo:
    rows = read(conn, USER_TIMEZONE, {"user_id": user_id})
    return ZoneInfo(rows[0].timezone if rows else "UTC")


def materialise(
    conn: Connection,
    rows: list[Any],
    zone: ZoneInfo,
    window: tuple[datetime, datetime] | None = None,
) -> None:
    """Insert the occurrences of visible events (rows of ``VISIBLE_EVENT``) within
    ``window``, by default the whole materialised horizon."""
    start, end = window or current_horizon(conn).materialised
    values = [
        {
            "event_id": row.id,
            "user_id": row.user_id,
            "occurs_at": occurrence.occurs_at,
            "local_date": occurrence.local_date,
            "person_id": row.person_id,
            "person_name": row.person_name,
            "title": row.title,
            "is_special_event": row.is_special_event,
            "all_day": row.all_day,
        }
        for row in rows
        for occurrence in occurrences(schedule_of(row.event_date, row.recurrence), zone, start, end)
    ]
    write_many(conn, CalendarTables.INSERT_OCCURRENCE, values)


class RenamedPeople:
    """People renamed in a batch: their occurrences take the new name in one
    statement, after the people rows are written (hence the later rank)."""

    rank: ClassVar[int] = 1

    RENAME = (
        "UPDATE occurrences o SET person_name = trim(p.first_name || ' ' || p.last_name)"
        " FROM people p WHERE p.id = ANY(%b::uuid[]) AND o.person_id = p.id"
    )

    def __init__(self) -> None:
        self.ids: set[UUID] = set()

    def flush(self, cursor: psycopg.Cursor[Any]) -> None:
        cursor.execute(self.RENAME, [list(self.ids)])


class CalendarTables(Projection):
    name = "calendar-tables"
    tables = ("events", "occurrences", "user_settings")

    INSERT_EVENT = text(
        "INSERT INTO events (id, user_id, person_id, title, event_date, all_day,"
        " is_special_event, recurrence, notes, version, created_at, updated_at)"
        " VALUES (:id, :user_id, :person_id, :title, :event_date, :all_day,"
        " :is_special_event, :recurrence, :notes, :version, :at, :at)"
        " ON CONFLICT (id) DO NOTHING"
    )
    UPDATE_EVENT = text(
        "UPDATE events SET title = :title, event_date = :event_date, all_day = :all_day,"
        " is_special_event = :is_special_event, recurrence = :recurrence, notes = :notes,"
        " version = :version, updated_at = :at WHERE id = :id"
    )
    SET_EVENT_STATE = text(
        "UPDATE events SET deleted_at = coalesce(:deleted_at, deleted_at), hidden = :hidden,"
        " version = :version, updated_at = :at WHERE id = :id"
    )
    INSERT_OCCURRENCE = text(
        "INSERT INTO occurrences (event_id, user_id, occurs_at, local_date, person_id,"
        " person_name, title, is_special_event, all_day)"
        " VALUES (:event_id, :user_id, :occurs_at, :local_date, :person_id, :person_name,"
        " :title, :is_special_event, :all_day) ON CONFLICT DO NOTHING"
    )
    EVENT_FIELDS = text(
        "SELECT person_id, title, event_date, is_special_event, recurrence, notes"
        " FROM events WHERE id = :id"
    )
    DELETE_EVENT_OCCURRENCES = text("DELETE FROM occurrences WHERE event_id = :id")
    DELETE_EVENT = text("DELETE FROM events WHERE id = :id")  # its rows cascade
    DELETE_SETTINGS = text("DELETE FROM user_settings WHERE user_id = :user_id")
    DELETE_USER_OCCURRENCES = text("DELETE FROM occurrences WHERE user_id = :user_id")
    VISIBLE_BY_ID = text(VISIBLE_EVENT + " AND e.id = :id")
    VISIBLE_BY_USER = text(VISIBLE_EVENT + " AND e.user_id = :user_id")
    INSERT_SETTINGS = text(
        "INSERT INTO user_settings (user_id, timezone, notifications, version, updated_at)"
        " VALUES (:user_id, :timezone, :notifications, :version, :at)"
        " ON CONFLICT (user_id) DO NOTHING"
    ).bindparams(bindparam("notifications", type_=JSONB))
    UPSERT_SETTINGS = text(
        "INSERT INTO user_settings (user_id, timezone, notifications, version, updated_at)"
        " VALUES (:user_id, :timezone, :notifications, :version, :at)"
        " ON CONFLICT (user_id) DO UPDATE SET timezone = excluded.timezone,"
        " notifications = excluded.notifications, version = excluded.version,"
        " updated_at = excluded.updated_at"
    ).bindparams(bindparam("notifications", type_=JSONB))

    @singledispatchmethod
    def process_event(self, event: Any, conn: Connection) -> None:
        """Other events do not touch these tables."""

    @process_event.register
    def _created(self, event: CalendarEvent.Created, conn: Connection) -> None:
        write(conn, self.INSERT_EVENT, _event_columns(event, event.__dict__))
        self._rematerialise_event(conn, event.originator_id, event.user_id)

    @process_event.register
    def _updated(self, event: CalendarEvent.Updated, conn: Connection) -> None:
        (current,) = read(conn, self.EVENT_FIELDS, {"id": event.originator_id})
        write(
            conn, self.UPDATE_EVENT, _event_columns(event, {**current._asdict(), **event.changes})
        )
        self._rematerialise_event(conn, event.originator_id, event.user_id)

    @process_event.register
    def _deleted(self, event: CalendarEvent.Deleted, conn: Connection) -> None:
        self._set_state(conn, event, deleted=True, hidden=False)

    @process_event.register
    def _hidden(self, event: CalendarEvent.HiddenWithPerson, conn: Connection) -> None:
        self._set_state(conn, event, deleted=False, hidden=True)

    @process_event.register
    def _shown(self, event: CalendarEvent.ShownWithPerson, conn: Connection) -> None:
        self._set_state(conn, event, deleted=False, hidden=False)

    @process_event.register
    def _purged(self, event: CalendarEvent.PurgedWithPerson, conn: Connection) -> None:
        write(conn, self.DELETE_EVENT, {"id": event.originator_id})

    @process_event.register
    def _person_updated(self, event: Person.Updated, conn: Connection) -> None:
        if "first_name" in event.changes or "last_name" in event.changes:
            deferred(conn, RenamedPeople).ids.add(event.originator_id)

    @process_event.register
    def _account_erased(self, event: UserSettings.AccountErased, conn: Connection) -> None:
        # Written before any settings of the account that follows (pcem.erasure): the
        # row deleted is the erased account's.
        write(conn, self.DELETE_SETTINGS, {"user_id": event.user_id})

    @process_event.register
    def _settings_created(self, event: UserSettings.Created, conn: Connection) -> None:
        # Saved alone when a user saves the defaults: the row holds them at version 1
        # (the zone is UTC, as without a row, so no occurrence moves).
        write(conn, self.INSERT_SETTINGS, _settings_columns(event, Preferences().as_dict()))

    @process_event.register
    def _settings_changed(self, event: UserSettings.Changed, conn: Connection) -> None:
        settings = event.settings
        write(conn, self.UPSERT_SETTINGS, _settings_columns(event, settings))
        # A new zone moves every occurrence (all-day ones start at local midnight,
        # timed ones keep their local wall-clock time).
        write(conn, self.DELETE_USER_OCCURRENCES, {"user_id": event.user_id})
        rows = read(conn, self.VISIBLE_BY_USER, {"user_id": event.user_id})
        materialise(conn, list(rows), ZoneInfo(settings["timezone"]))

    def _set_state(
        self, conn: Connection, event: CalendarEvent.Event, *, deleted: bool, hidden: bool
    ) -> None:
        write(
            conn,
            self.SET_EVENT_STATE,
            {
                "id": event.originator_id,
                "deleted_at": event.timestamp if deleted else None,
                "hidden": hidden,
                "version": event.originator_version,
                "at": event.timestamp,
            },
        )
        self._rematerialise_event(conn, event.originator_id, event.user_id)  # type: ignore[attr-defined]

    def _rematerialise_event(self, conn: Connection, event_id: UUID, user_id: str) -> None:
        write(conn, self.DELETE_EVENT_OCCURRENCES, {"id": event_id})
        rows = read(conn, self.VISIBLE_BY_ID, {"id": event_id})
        materialise(conn, list(rows), user_zone(conn, user_id))


def _event_columns(event: Any, fields: Any) -> dict[str, Any]:
    return {
        "id": event.originator_id,
        "user_id": event.user_id,
        "person_id": fields.get("person_id"),
        "title": fields["title"],
        "event_date": fields["event_date"],
        "all_day": len(fields["event_date"]) == len("YYYY-MM-DD"),
        "is_special_event": fields["is_special_event"],
        "recurrence": fields["recurrence"],
        "notes": fields["notes"],
        "version": event.originator_version,
        "at": event.timestamp,
    }


def _settings_columns(event: OwnedEvent, settings: dict[str, Any]) -> dict[str, Any]:
    return {
        "user_id": event.user_id,
        "timezone": settings["timezone"],
        "notifications": settings["notifications"],
        "version": event.originator_version,
        "at": event.timestamp,
    }
