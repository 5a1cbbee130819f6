"""The in-app channel: the notification row is the inbox, and a Redis pub/sub channel
per user says "one was just sent".

The delivery worker's in-app provider publishes on :func:`inbox_channel`; every API
replica's stream subscribes to it, and reads what was sent from the ledger with
:class:`SentInApp` (async, on the API's psycopg pool), in ``(sent_at, id)`` order.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from uuid import UUID

from psycopg_pool import AsyncConnectionPool

from pcem.database.row_security import AsUser
from pcem.notifications.inbox import COLUMNS, NotificationRow

Key = tuple[datetime, UUID]  # (sent_at, id): where a stream is in a user's in-app feed

_SENT = (
    "FROM notifications n WHERE n.user_id = %(user_id)s"
    " AND n.channel = 'in_app' AND n.status = 'sent' AND n.erased_at IS NULL"
)
# A row another worker is still sending (claimed with its ``now``, which becomes its
# ``sent_at``) may commit after a row with a later ``sent_at``: the later one waits
# until then, so the stream's order is (sent_at, id) and a resume point never passes
# a row that is still to come. Bounded by the worker's lease, should it have died.
_NOT_HELD_BACK = (
    " AND NOT EXISTS (SELECT 1 FROM notifications p"
    " WHERE p.status = 'sending' AND p.user_id = n.user_id AND p.channel = 'in_app'"
    " AND p.lease_until > now() AND (p.updated_at, p.id) < (n.sent_at, n.id))"
)
_ORDER = " ORDER BY n.sent_at, n.id LIMIT %(limit)s"


def inbox_channel(user_id: str) -> str:
    """The pub/sub channel of one user's in-app notifications."""
    return f"pcem:notifications:{user_id}"


class SentInApp:
    """A user's sent in-app notifications, oldest ``sent_at`` first."""

    LATEST = f"SELECT n.sent_at, n.id {_SENT} ORDER BY n.sent_at DESC, n.id DESC LIMIT 1"
    _COLUMNS = ", ".join(f"n.{column.strip()}" for column in COLUMNS.split(","))
    ALL = f"SELECT {_COLUMNS} {_SENT} AND n.id <> ALL(%(seen)s)" + _NOT_HELD_BACK + _ORDER
    SINCE = (
        f"SELECT {_COLUMNS} {_SENT} AND n.sent_at >= %(since)s AND n.id <> ALL(%(seen)s)"
        + _NOT_HELD_BACK
        + _ORDER
    )

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.reads = AsUser(pool)

    async def latest(self, user_id: str) -> Key | None:
        """The last one sent: where a stream that resumes from nothing starts."""
        rows = await self.reads.fetchall(user_id, self.LATEST, {"user_id": user_id})
        return (rows[0][0], rows[0][1]) if rows else None

    async def since(
        self, user_id: str, since: datetime | None, *, seen: Collection[UUID], limit: int
    ) -> list[NotificationRow]:
        """Those sent at or after ``since`` (all, if None), but not the ``seen`` ones."""
        params = {"user_id": user_id, "since": since, "seen": list(seen), "limit": limit}
        statement = self.ALL if since is None else self.SINCE
        rows = await self.reads.fetchall(user_id, statement, params)
        return [NotificationRow(*row) for row in rows]
