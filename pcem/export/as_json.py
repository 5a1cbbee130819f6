"""The JSON export (``document.ExportDocument``), written a batch of rows at a time.

The document is one object whose keys come in a fixed order; each list is written
as its rows arrive from their server-side cursor, so only one batch (and its
histories) is ever in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any
from uuid import UUID

import msgspec

from pcem.aggregates.settings import Preferences, settings_id
from pcem.commands.history import without_secrets
from pcem.database.row_security import Row
from pcem.export.document import (
    FORMAT,
    VERSION,
    ExportedEvent,
    ExportedPerson,
    ExportedSettings,
)
from pcem.export.histories import decoded, stored_events
from pcem.export.run import BATCH, ExportRun
from pcem.notifications import inbox
from pcem.notifications.inbox import Attempt, NotificationDetail
from pcem.projections import calendar_view, people_view
from pcem.projections.relationships_view import RelationshipRow

NOW = "SELECT now()"  # the transaction's start: the snapshot's moment
SETTINGS = (
    "SELECT timezone, notifications, version, updated_at FROM user_settings"
    " WHERE user_id = %(user_id)s"
)
PEOPLE = (
    f"SELECT {people_view.COLUMNS}, deleted_at FROM people"  # noqa: S608 (constant columns)
    " WHERE user_id = %(user_id)s ORDER BY last_name, first_name, id"
)
RELATIONSHIPS = (
    "SELECT id, source_id, target_id, type, created_at FROM relationships"
    " WHERE user_id = %(user_id)s ORDER BY created_at, id"
)
EVENTS = (
    f"SELECT {calendar_view.EVENT_COLUMNS}, deleted_at, hidden FROM events"  # noqa: S608
    " WHERE user_id = %(user_id)s ORDER BY created_at, id"
)
NOTIFICATIONS = (
    f"SELECT {inbox.COLUMNS} FROM notifications"  # noqa: S608 (constant columns)
    " WHERE user_id = %(user_id)s AND erased_at IS NULL ORDER BY due_at DESC, id"
)
GENERATION = (
    "SELECT coalesce(max(generation), 0) FROM account_erasures"
    " WHERE user_id = %(user_id)s AND state = 'done'"
)
ATTEMPTS = (
    "SELECT notification_id, at, outcome, error, message_id FROM notification_attempts"
    " WHERE notification_id = ANY(%(ids)s) ORDER BY notification_id, attempt"
)
_PERSON_VERSION = 5  # the column of a PEOPLE row holding its version
_EVENT_VERSION = 8  # of an EVENTS row

# A record of its row and history: ExportedPerson, ExportedEvent (their columns in order).
Make = Callable[..., Any]


async def as_json(run: ExportRun) -> AsyncIterator[bytes]:
    yield await _head(run)
    people = _with_histories(run, PEOPLE, _PERSON_VERSION, ExportedPerson)
    sections: list[tuple[str, AsyncIterator[bytes]]] = [
        ("people", people),
        ("relationships", _plain(run, RELATIONSHIPS, RelationshipRow)),
        ("events", _with_histories(run, EVENTS, _EVENT_VERSION, ExportedEvent)),
        ("notifications", _notifications(run)),
    ]
    for name, batches in sections:
        yield f',"{name}":['.encode()
        separator = b""
        async for items in batches:
            yield separator + items
            separator = b","
        yield b"]"
    yield b"}"


async def _head(run: ExportRun) -> bytes:
    """The document's opening, up to its settings (its closing brace left off)."""
    [[(now,)], rows, [(generation,)]] = await run.snapshot.fetchall(
        (NOW, {}), (SETTINGS, run.params), (GENERATION, run.params)
    )
    defaults = Preferences().as_dict()
    timezone, notifications, version, updated_at = (
        rows[0] if rows else (defaults["timezone"], defaults["notifications"], 0, None)
    )
    own_id = settings_id(run.user_id, generation)
    stored = await stored_events(run.snapshot, [(own_id, version)] if version else [])
    # Off the loop: decoding may fetch the settings' key from the database.
    histories = await run.off_the_loop(decoded, stored, run.mapper, run.user_id)
    history = histories.get(own_id, [])
    settings = ExportedSettings(
        timezone, without_secrets(notifications), version, updated_at, history
    )
    head = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": now,
        "user_id": run.user_id,
        "settings": settings,
    }
    return msgspec.json.encode(head)[:-1]


async def _with_histories(
    run: ExportRun, query: str, version_at: int, make: Make
) -> AsyncIterator[bytes]:
    """Records with their histories, each batch's read in one statement."""
    async for rows in run.snapshot.batches((query, run.params), BATCH):
        records = [(row[0], row[version_at]) for row in rows]
        stored = await stored_events(run.snapshot, records)
        yield await run.off_the_loop(_encoded_with_histories, rows, stored, run, make)


def _encoded_with_histories(
    rows: Sequence[Row], stored: list[Row], run: ExportRun, make: Make
) -> bytes:
    histories = decoded(stored, run.mapper, run.user_id)
    return _items([make(*row, histories.get(row[0], [])) for row in rows])


async def _plain(run: ExportRun, query: str, make: Callable[..., Any]) -> AsyncIterator[bytes]:
    async for rows in run.snapshot.batches((query, run.params), BATCH):
        yield _items([make(*row) for row in rows])


async def _notifications(run: ExportRun) -> AsyncIterator[bytes]:
    """Notifications with their attempt logs, each batch's in one statement."""
    async for rows in run.snapshot.batches((NOTIFICATIONS, run.params), BATCH):
        ids = [row[0] for row in rows]
        [attempts] = await run.snapshot.fetchall((ATTEMPTS, {"ids": ids}))
        logs: dict[UUID, list[Attempt]] = {}
        for notification_id, *attempt in attempts:
            logs.setdefault(notification_id, []).append(Attempt(*attempt))
        yield _items([_notification(row, logs.get(row[0], [])) for row in rows])


def _notification(row: Row, attempt_log: list[Attempt]) -> NotificationDetail:
    detail = NotificationDetail(*row)
    detail.attempt_log = attempt_log
    return detail


def _items(records: list[Any]) -> bytes:
    """A JSON list's inside: the records, comma-separated."""
    return msgspec.json.encode(records)[1:-1]
