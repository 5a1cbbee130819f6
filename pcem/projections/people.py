"""The ``people`` read table, projected from Person events."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.expression import bindparam

from pcem.aggregates.person import Person
from pcem.projections.base import Projection


class PeopleProjection(Projection):
    name = "people"

    INSERT = text(
        "INSERT INTO people (id, user_id, first_name, last_name, primary_contact, metadata,"
        " version, created_at, updated_at)"
        " VALUES (:id, :user_id, :first_name, :last_name, :primary_contact, :metadata,"
        " :version, :at, :at)"
        " ON CONFLICT (id) DO NOTHING"
    ).bindparams(bindparam("metadata", type_=JSONB))

    @singledispatchmethod
    def process_event(self, event: Any, conn: Connection) -> None:
        """Other events do not touch this table."""

    @process_event.register
    def _created(self, event: Person.Created, conn: Connection) -> None:
        conn.execute(
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
