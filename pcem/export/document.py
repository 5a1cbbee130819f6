"""The JSON export's shape (``format`` ``pcem-export``, ``version`` 1): what
``as_json`` streams, written down as types for the OpenAPI document and for readers.

Each record is as the API answers it, plus what the API hides (when it was deleted,
whether an event is hidden with its person) and its whole history, inline: the
``AuditEntry`` items of ``GET /people/{id}/history``, oldest first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

from pcem.commands.history import AuditEntry
from pcem.notifications.inbox import NotificationDetail
from pcem.projections.calendar_view import EventRow
from pcem.projections.people_view import PersonRow
from pcem.projections.relationships_view import RelationshipRow

FORMAT = "pcem-export"
VERSION = 1


class ExportedSettings(msgspec.Struct):
    """The settings as ``GET /me/settings`` shapes them, a channel's ``secret`` shown
    as ``[redacted]``; ``version`` 0 and ``updated_at`` null if never changed."""

    timezone: str
    notifications: dict[str, Any]
    version: int
    updated_at: datetime | None
    history: list[AuditEntry]


class ExportedPerson(PersonRow):
    deleted_at: datetime | None
    history: list[AuditEntry]


class ExportedEvent(EventRow):
    deleted_at: datetime | None
    hidden: bool  # with its deleted person
    history: list[AuditEntry]


class ExportDocument(msgspec.Struct):
    """The whole JSON export, in this key order."""

    format: Literal["pcem-export"]
    version: Literal[1]
    exported_at: datetime  # the snapshot's moment
    user_id: str
    settings: ExportedSettings
    people: list[ExportedPerson]  # deleted ones too; ordered by last_name, first_name, id
    relationships: list[RelationshipRow]  # every one that exists, oldest first
    events: list[ExportedEvent]  # deleted and hidden ones too; oldest first
    notifications: list[NotificationDetail]  # newest due_at first, with their attempt logs
