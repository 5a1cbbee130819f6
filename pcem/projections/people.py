"""The people read model: the ``people`` and ``relationships`` tables (applied in the
``people_and_dates`` projection, ``pcem.projections.people_and_dates``)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import singledispatchmethod
from typing import Any, ClassVar
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import Connection, text

from pcem.aggregates.ownership import OwnedEvent
from pcem.aggregates.person import UPDATABLE_FIELDS, Person
from pcem.projections.base import Projection
from pcem.projections.writes import deferred, write


class PeopleChanges:
    """A batch's changes to ``people`` and ``relationships``, folded per row.

    A person's row is a function of their events alone, so the events of one
    batch fold into one row write per person: a person created in the batch is
    inserted once in their final state, anyone else gets one update of the
    columns that changed. Relationships are inserted or deleted by id. Flushed
    as four set-based statements, in an order every foreign key accepts:
    people, then relationships.
    """

    rank: ClassVar[int] = 0

    UPSERT_PEOPLE = (
        "INSERT INTO people (id, user_id, first_name, last_name, primary_contact, metadata,"
        " version, created_at, updated_at, deleted_at)"
        " SELECT * FROM unnest(%b::uuid[], %b::text[], %b::text[], %b::text[], %b::text[],"
        " %b::jsonb[], %b::bigint[], %b::timestamptz[], %b::timestamptz[], %b::timestamptz[])"
        # A row is the fold of its person's events from creation on: if the row
        # exists already (a creation delivered twice), the fold replaces it only
        # when it is newer, so a repeated creation alone changes nothing.
        " ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id,"
        " first_name = excluded.first_name, last_name = excluded.last_name,"
        " primary_contact = excluded.primary_contact, metadata = excluded.metadata,"
        " version = excluded.version, created_at = excluded.created_at,"
        " updated_at = excluded.updated_at, deleted_at = excluded.deleted_at"
        " WHERE people.version < excluded.version"
    )
    UPDATE_PEOPLE = (
        "UPDATE people p SET"
        " first_name = CASE WHEN c.set_first_name THEN c.first_name ELSE p.first_name END,"
        " last_name = CASE WHEN c.set_last_name THEN c.last_name ELSE p.last_name END,"
        " primary_contact = CASE WHEN c.set_primary_contact THEN c.primary_contact"
        " ELSE p.primary_contact END,"
        " metadata = CASE WHEN c.set_metadata THEN c.metadata ELSE p.metadata END,"
        " deleted_at = CASE WHEN c.set_deleted_at THEN c.deleted_at ELSE p.deleted_at END,"
        " version = c.version, updated_at = c.updated_at"
        " FROM unnest(%b::uuid[], %b::bool[], %b::text[], %b::bool[], %b::text[],"
        " %b::bool[], %b::text[], %b::bool[], %b::jsonb[], %b::bool[], %b::timestamptz[],"
        " %b::bigint[], %b::timestamptz[])"
        " AS c(id, set_first_name, first_name, set_last_name, last_name, set_primary_contact,"
        " primary_contact, set_metadata, metadata, set_deleted_at, deleted_at, version,"
        " updated_at)"
        " WHERE p.id = c.id"
    )
    DELETE_RELATIONSHIPS = "DELETE FROM relationships WHERE id = ANY(%b::uuid[])"
    # Only between two people who have rows: the other side may be erased (its events
    # unreadable, its row gone) while this side's events still name it.
    INSERT_RELATIONSHIPS = (
        "INSERT INTO relationships (id, user_id, source_id, target_id, type, created_at)"
        " SELECT r.* FROM unnest(%b::uuid[], %b::text[], %b::uuid[], %b::uuid[], %b::text[],"
        " %b::timestamptz[]) AS r(id, user_id, source_id, target_id, type, created_at)"
        " WHERE EXISTS (SELECT FROM people WHERE id = r.source_id)"
        " AND EXISTS (SELECT FROM people WHERE id = r.target_id)"
        " ON CONFLICT (id) DO NOTHING"
    )
    PERSON_COLUMNS = (
        "id",
        "user_id",
        "first_name",
        "last_name",
        "primary_contact",
        "metadata",
        "version",
        "created_at",
        "updated_at",
        "deleted_at",
    )
    PATCHABLE = (*UPDATABLE_FIELDS, "metadata", "deleted_at")
    RELATIONSHIP_COLUMNS = ("id", "user_id", "source_id", "target_id", "type", "created_at")

    def __init__(self) -> None:
        self.created: dict[UUID, dict[str, Any]] = {}  # whole rows
        self.changed: dict[UUID, dict[str, Any]] = {}  # the columns to set
        self.related: dict[UUID, dict[str, Any]] = {}
        self.unrelated: set[UUID] = set()

    def create(self, row: dict[str, Any]) -> None:
        self.created[row["id"]] = row

    def change(self, event: OwnedEvent, columns: Mapping[str, Any]) -> None:
        person_id = event.originator_id
        row = self.created.get(person_id)
        if row is None:
            row = self.changed.setdefault(person_id, {})
        row.update(columns)
        row["version"] = event.originator_version
        row["updated_at"] = event.timestamp

    # Deletions are written before insertions, so any order of adding and
    # removing one relationship id ends as applying them one by one would.
    def relate(self, row: dict[str, Any]) -> None:
        self.related[row["id"]] = row

    def unrelate(self, relationship_id: UUID) -> None:
        self.related.pop(relationship_id, None)
        self.unrelated.add(relationship_id)

    def flush(self, cursor: psycopg.Cursor[Any]) -> None:
        if self.created:
            rows = self.created.values()
            columns = [[row[c] for row in rows] for c in self.PERSON_COLUMNS]
            metadata = self.PERSON_COLUMNS.index("metadata")
            columns[metadata] = [Jsonb(value) for value in columns[metadata]]
            cursor.execute(self.UPSERT_PEOPLE, columns)
        if self.changed:
            patches = self.changed.items()
            params: list[list[Any]] = [[person_id for person_id, _ in patches]]
            for column in self.PATCHABLE:
                params.append([column in patch for _, patch in patches])
                if column == "metadata":  # as JSON whenever set (None too: JSON null)
                    params.append([_jsonb_if_set(patch, column) for _, patch in patches])
                else:
                    params.append([patch.get(column) for _, patch in patches])
            params.append([patch["version"] for _, patch in patches])
            params.append([patch["updated_at"] for _, patch in patches])
            cursor.execute(self.UPDATE_PEOPLE, params)
        if self.unrelated:
            cursor.execute(self.DELETE_RELATIONSHIPS, [list(self.unrelated)])
        if self.related:
            rows = self.related.values()
            cursor.execute(
                self.INSERT_RELATIONSHIPS,
                [[row[c] for row in rows] for c in self.RELATIONSHIP_COLUMNS],
            )


def _jsonb_if_set(patch: Mapping[str, Any], column: str) -> Jsonb | None:
    return Jsonb(patch[column]) if column in patch else None


class PeopleTables(Projection):
    name = "people-tables"
    tables = ("people", "relationships")

    # Their relationships both ways, events, occurrences and reminders go with them
    # (the foreign keys cascade, within this projection's tables).
    DELETE_PERSON = text("DELETE FROM people WHERE id = :id")

    @singledispatchmethod
    def process_event(self, event: Any, conn: Connection) -> None:
        """Other events do not touch these tables."""

    @process_event.register
    def _created(self, event: Person.Created, conn: Connection) -> None:
        deferred(conn, PeopleChanges).create(
            {
                "id": event.originator_id,
                "user_id": event.user_id,
                "first_name": event.first_name,
                "last_name": event.last_name,
                "primary_contact": event.primary_contact,
                "metadata": event.metadata,
                "version": event.originator_version,
                "created_at": event.timestamp,
                "updated_at": event.timestamp,
                "deleted_at": None,
            }
        )

    @process_event.register
    def _updated(self, event: Person.Updated, conn: Connection) -> None:
        deferred(conn, PeopleChanges).change(event, event.changes)

    @process_event.register
    def _deleted(self, event: Person.Deleted, conn: Connection) -> None:
        deferred(conn, PeopleChanges).change(event, {"deleted_at": event.timestamp})

    @process_event.register
    def _restored(self, event: Person.Restored, conn: Connection) -> None:
        deferred(conn, PeopleChanges).change(event, {"deleted_at": None})

    @process_event.register
    def _purged(self, event: Person.Purged, conn: Connection) -> None:
        write(conn, self.DELETE_PERSON, {"id": event.originator_id})

    @process_event.register
    def _relationship_added(self, event: Person.RelationshipAdded, conn: Connection) -> None:
        changes = deferred(conn, PeopleChanges)
        changes.relate(
            {
                "id": event.relationship_id,
                "user_id": event.user_id,
                "source_id": event.originator_id,
                "target_id": event.target_id,
                "type": event.type,
                "created_at": event.timestamp,
            }
        )
        changes.change(event, {})

    @process_event.register
    def _relationship_removed(self, event: Person.RelationshipRemoved, conn: Connection) -> None:
        changes = deferred(conn, PeopleChanges)
        changes.unrelate(event.relationship_id)
        changes.change(event, {})

    # Recording an event about a person changes no column of theirs, but it is a
    # new version of the person: the row's version, updated_at (and ETag) follow it.
    @process_event.register
    def _event_attached(self, event: Person.EventAttached, conn: Connection) -> None:
        deferred(conn, PeopleChanges).change(event, {})

    @process_event.register
    def _event_detached(self, event: Person.EventDetached, conn: Connection) -> None:
        deferred(conn, PeopleChanges).change(event, {})
