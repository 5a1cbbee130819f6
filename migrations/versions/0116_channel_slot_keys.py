"""Reminders keyed by their channel's place in the settings, not by its address.

A reminder's ``channel_key`` was its channel's type and a digest of its address
(``email:3f2a…``), and its id a uuid5 of that key; it is now the type and the
channel's rank among those of its type (``email``, ``email#2``: see
``pcem.aggregates.reminders.channel_keys``), so an edited address keeps its
reminders. In-app keys (``in_app``) are the same in both.

Left as they were, every pending email, SMS and webhook reminder would be taken
for one of a removed channel and cancelled, and a rebuilt schedule would give the
last hour's reminders new ids that the ledger has not sent. So the schedule's rows
and the ledger's notifications of each user's current channels take their new key
and id here, the ledger's attempt log and outbox following. A notification of a
channel the user has since removed keeps its old key: it is cancelled, as before,
if it is ever retried. Written out here, not imported, as a migration must keep
doing what it did when the code moves on.

Revision ID: 0116
Revises: 0115
Create Date: 2026-12-10
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from typing import Any

from alembic import op
from sqlalchemy import Connection, text

revision = "0116"
down_revision = "0115"
branch_labels = None
depends_on = None

_REMINDERS = uuid.UUID("0c6c2f4e-55d2-4b8e-9a57-3f4d7f3b8a61")  # reminder ids' namespace
_ADDRESS = {"email": "address", "sms": "phone", "webhook": "url"}
_DEFAULT_CHANNELS = [{"type": "in_app"}]

KeyMap = dict[str, dict[str, str]]  # user id -> {key before: key after}

REKEYED = "CREATE TEMPORARY TABLE rekeyed (old_id uuid PRIMARY KEY, new_id uuid, new_key text)"
ROWS = (
    "SELECT id, user_id, event_id, occurrence_date, lead_time_days, channel_key"
    " FROM {table} WHERE channel_key {pattern}"
)
MOVE = (
    "ALTER TABLE notification_attempts DROP CONSTRAINT notification_attempts_notification_id_fkey",
    "UPDATE notifications n SET id = r.new_id, channel_key = r.new_key"
    " FROM rekeyed r WHERE n.id = r.old_id",
    "UPDATE notification_attempts a SET notification_id = r.new_id"
    " FROM rekeyed r WHERE a.notification_id = r.old_id",
    "ALTER TABLE notification_attempts ADD CONSTRAINT notification_attempts_notification_id_fkey"
    " FOREIGN KEY (notification_id) REFERENCES notifications (id) ON DELETE CASCADE",
    "UPDATE outbox o SET subject_id = r.new_id FROM rekeyed r"
    " WHERE o.subject_id = r.old_id AND o.task = 'pcem.deliver'",
    "UPDATE notification_schedule s SET id = r.new_id, channel_key = r.new_key"
    " FROM rekeyed r WHERE s.id = r.old_id",
    "DROP TABLE rekeyed",
)


def _address_key(channel: dict[str, Any]) -> str:
    field = _ADDRESS.get(channel["type"])
    if field is None:
        return str(channel["type"])
    digest = hashlib.sha256(str(channel[field]).encode()).hexdigest()[:16]
    return f"{channel['type']}:{digest}"


def _slot_keys(channels: Iterable[dict[str, Any]]) -> list[tuple[str, str]]:
    """(address key, slot key) of each channel, as each version of the code named it."""
    seen: list[dict[str, Any]] = []
    pairs = []
    for channel in channels:
        if channel in seen:
            continue
        seen.append(channel)
        rank = sum(1 for other in seen if other["type"] == channel["type"])
        slot = channel["type"] if rank == 1 else f"{channel['type']}#{rank}"
        pairs.append((_address_key(channel), slot))
    return pairs


def _key_maps(conn: Connection, *, upgrading: bool) -> KeyMap:
    maps: KeyMap = {}
    rows = conn.execute(text("SELECT user_id, notifications -> 'channels' FROM user_settings"))
    for user_id, channels in rows:
        maps[user_id] = {}
        for before, after in _slot_keys(channels or _DEFAULT_CHANNELS):
            old, new = (before, after) if upgrading else (after, before)
            maps[user_id].setdefault(old, new)
    return maps


def _rekey(maps: KeyMap, pattern: str) -> None:
    conn = op.get_bind()
    conn.execute(text(REKEYED))
    found: dict[uuid.UUID, dict[str, Any]] = {}
    for table in ("notification_schedule", "notifications"):
        for row in conn.execute(text(ROWS.format(table=table, pattern=pattern))):
            new_key = maps.get(row.user_id, {}).get(row.channel_key)
            if new_key is not None and row.id not in found:
                new_id = uuid.uuid5(
                    _REMINDERS,
                    f"{row.event_id}/{row.occurrence_date.isoformat()}"
                    f"/{row.lead_time_days}/{new_key}",
                )
                found[row.id] = {"old_id": row.id, "new_id": new_id, "new_key": new_key}
    if found:
        insert = text("INSERT INTO rekeyed VALUES (:old_id, :new_id, :new_key)")
        conn.execute(insert, list(found.values()))
    for statement in MOVE:
        conn.execute(text(statement))


def upgrade() -> None:
    # Address keys hold a colon; slot keys never do.
    _rekey(_key_maps(op.get_bind(), upgrading=True), "LIKE '%:%'")


def downgrade() -> None:
    slot_keys = "SIMILAR TO '(email|sms|webhook)(#%)?'"
    _rekey(_key_maps(op.get_bind(), upgrading=False), slot_keys)
