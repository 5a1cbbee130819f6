"""The people read model: the ``people`` and ``relationships`` tables, and the
``people`` projection that applies them together with the calendar tables.

They are one projection because relationships and events reference people:
applying them in one ordered stream keeps every foreign key satisfied.
"""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.expression import bindparam

from pcem.aggregates.ownership import OwnedEvent
from pcem.aggregates.person import UPDATABLE_FIELDS, Person
from pcem.projections.base import CompositeProjection, Projection
from pcem.projections.calendar import CalendarTables
from pcem.projections.writes import write


class PeopleTables(Projection):
    name = "people-tables"
    tables = ("people", "relationships")

    INSERT = text(
        "INSERT INTO people (id, user_id, first_name, last_name, primary_contact, metadata,"
        " version, created_at, updated_at)"
        " VALUES (:id, :user_id, :first_name, :last_name, :primary_contact, :metadata,"
        " :version, :at, :at)"
        " ON CONFLICT (id) DO NOTHING"
    ).bindparams(bindparam("metadata", type_=JSONB))
    UPDATE = text(
        "UPDATE people SET"
        " first_name = CASE WHEN :set_first_name THEN :first_name ELSE first_name END,"
        " last_name = CASE WHEN :set_last_name THEN :last_name ELSE last_name END,"
        " primary_contact = CASE WHEN :set_primary_contact THEN :primary_contact"
        " ELSE primary_contact END,"
        " metadata = CASE WHEN :set_metadata THEN :metadata ELSE metadata END,"
        " version = :version, updated_at = :at"
        " WHERE id = :id"
    ).bindparams(bindparam("metadata", type_=JSONB))
    SET_DELETED = text(
        "UPDATE people SET deleted_at = :deleted_at, version = :version, updated_at = :at"
        " WHERE id = :id"
    )
    TOUCH = text("UPDATE people SET version = :version, updated_at = :at WHERE id = :id")
    ADD_RELATIONSHIP = text(
        "INSERT INTO relationships (id, user_id, source_id, target_id, type, created_at)"
        " VALUES (:id, :user_id, :source_id, :target_id, :type, :at)"
        " ON CONFLICT (id) DO NOTHING"
    )
    REMOVE_RELATIONSHIP = text("DELETE FROM relationships WHERE id = :id")

    @singledispatchmethod
    def process_event(self, event: Any, conn: Connection) -> None:
        """Other events do not touch these tables."""

    @process_event.register
    def _created(self, event: Person.Created, conn: Connection) -> None:
        write(
            conn,
            self.INSERT,
            {
                "id": event.originator_id,
                "user_id": event.user_id,
                "first_name": event.first_name,
                "last_name": event.last_name,
                "primary_contact": event.primary_contact,
                "metadata": event.metadata,
                "version": event.originator_version,
                "at": event.timestamp,
            },
        )

    @process_event.register
    def _updated(self, event: Person.Updated, conn: Connection) -> None:
        changes = event.changes
        params: dict[str, Any] = {"metadata": changes.get("metadata"), **_versioned(event)}
        params["set_metadata"] = "metadata" in changes
        for field in UPDATABLE_FIELDS:
            params[field] = changes.get(field)
            params[f"set_{field}"] = field in changes
        write(conn, self.UPDATE, params)

    @process_event.register
    def _deleted(self, event: Person.Deleted, conn: Connection) -> None:
        write(conn, self.SET_DELETED, {"deleted_at": event.timestamp, **_versioned(event)})

    @process_event.register
    def _restored(self, event: Person.Restored, conn: Connection) -> None:
        write(conn, self.SET_DELETED, {"deleted_at": None, **_versioned(event)})

    @process_event.register
    def _relationship_added(self, event: Person.RelationshipAdded, conn: Connection) -> None:
        write(
            conn,
            self.ADD_RELATIONSHIP,
            {
                "id": event.relationship_id,
                "user_id": event.user_id,
                "source_id": event.originator_id,
                "target_id": event.target_id,
                "type": event.type,
                "at": event.timestamp,
            },
        )
        write(conn, self.TOUCH, _versioned(event))

    @process_event.register
    def _relationship_removed(self, event: Person.RelationshipRemoved, conn: Connection) -> None:
        write(conn, self.REMOVE_RELATIONSHIP, {"id": event.relationship_id})
        write(conn, self.TOUCH, _versioned(event))


def _versioned(event: OwnedEvent) -> dict[str, Any]:
    return {"id": event.originator_id, "version": event.originator_version, "at": event.timestamp}


class PeopleProjection(CompositeProjection):
    name = "people"
    parts = (PeopleTables, CalendarTables)
    tables = PeopleTables.tables + CalendarTables.tables
