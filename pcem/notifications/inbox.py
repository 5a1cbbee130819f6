"""Reads of the ledger: a user's notifications (the in-app inbox), the failed set,
and how many are overdue. Every user-facing query takes ``user_id`` first.

The inbox is async, on the API's psycopg pool, as the user; the operators' reads
(the failed set, the overdue count) are every user's, on the SQLAlchemy engine.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Engine, text

from pcem.database.row_security import AsUser
from pcem.notifications import pending

OVERDUE_AFTER = timedelta(minutes=5)
COLUMNS = (
    "id, event_id, person_id, channel, lead_time_days, occurrence_date, due_at, status,"
    " attempts, last_error, sent_at, read_at, title, body"
)


class NotificationRow(msgspec.Struct):
    """A notification as every read answers it (API.md's ``Notification``)."""

    id: UUID
    event_id: UUID
    person_id: UUID
    channel: str
    lead_time_days: int
    occurrence_date: date
    due_at: datetime
    status: str
    attempts: int
    last_error: str | None
    sent_at: datetime | None
    read_at: datetime | None
    title: str
    body: str

    @property
    def sort_key(self) -> tuple[datetime, UUID]:
        return (self.due_at, self.id)


class Attempt(msgspec.Struct):
    at: datetime
    outcome: str
    error: str | None
    # The message that carried it: the notification's id, or its digest's when it went
    # out with others (pcem.processors.digest); None if nothing was sent.
    message_id: UUID | None = None


class NotificationDetail(NotificationRow):
    attempt_log: list[Attempt] = []


# A deleted person's notifications vanish with them, and come back when they are
# restored (API.md, DELETE /people/{id}); the people read model says who is deleted.
# An erased person's (or account's) notifications are gone for good: no read shows them.
_PERSON_SHOWN = (
    " AND n.erased_at IS NULL"
    " AND NOT EXISTS (SELECT 1 FROM people p WHERE p.id = n.person_id AND p.deleted_at IS NOT NULL)"
)
_OWN = "n.user_id = %(user_id)s AND n.id = %(id)s" + _PERSON_SHOWN
_N_COLUMNS = ", ".join(f"n.{column.strip()}" for column in COLUMNS.split(","))


_NEWEST_FIRST = "ORDER BY {0}due_at DESC, {0}id DESC LIMIT %(limit)s"


def _listed(row: tuple[Any, ...]) -> tuple[Any, ...]:
    *fields, coming = row
    return pending.worded(tuple(fields)) if coming else tuple(fields)


class Inbox:
    """One user's notifications, and the reminders still to come as the notifications
    they will be (``pcem.notifications.pending``): every query is scoped by
    ``user_id``, and runs as that user (``pcem.database.row_security``)."""

    GET = f"SELECT {_N_COLUMNS} FROM notifications n WHERE {_OWN}"  # noqa: S608 (constant)
    GET_PENDING = (
        f"SELECT {pending.COLUMNS} FROM notification_schedule s"  # noqa: S608 (constant)
        f" WHERE {pending.MINE} AND s.id = %(id)s"
    )
    # Scoped by the notification's owner too: the policy of notification_attempts.
    ATTEMPTS = (
        "SELECT at, outcome, error, message_id FROM notification_attempts"
        " WHERE notification_id = %(id)s ORDER BY attempt"
    )
    MARK_READ = (
        "UPDATE notifications n SET read_at = coalesce(n.read_at, %(now)s), updated_at = %(now)s"  # noqa: S608
        f" WHERE {_OWN} RETURNING {_N_COLUMNS}"
    )

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.reads = AsUser(pool)

    async def page(
        self,
        user_id: str,
        *,
        status: str | None,
        channel: str | None,
        before: tuple[datetime, UUID] | None,
        limit: int,
    ) -> list[NotificationRow]:
        """The user's notifications and reminders to come, newest ``due_at`` first."""
        params: dict[str, Any] = {"user_id": user_id, "limit": limit, "status": status}
        mine, coming = ["n.user_id = %(user_id)s"], [pending.MINE]
        if status is not None:
            mine.append("n.status = %(status)s")
        if channel is not None:
            mine.append("n.channel = %(channel)s")
            coming.append("s.channel = %(channel)s")
            params["channel"] = channel
        if before is not None:
            mine.append("(n.due_at, n.id) < (%(before_at)s, %(before_id)s)")
            coming.append("(s.due_at, s.id) < (%(before_at)s, %(before_id)s)")
            params.update(before_at=before[0], before_id=before[1])
        parts = [
            f"(SELECT {_N_COLUMNS}, false AS coming FROM notifications n"  # noqa: S608 (fixed fragments)
            f" WHERE {' AND '.join(mine)}{_PERSON_SHOWN} {_NEWEST_FIRST.format('n.')})"
        ]
        if status in (None, "scheduled"):
            parts.append(
                f"(SELECT {pending.COLUMNS}, true FROM notification_schedule s"  # noqa: S608
                f" WHERE {' AND '.join(coming)} {_NEWEST_FIRST.format('s.')})"
            )
        statement = (
            f"SELECT * FROM ({' UNION ALL '.join(parts)}) AS listed"  # noqa: S608 (fixed fragments)
            f" {_NEWEST_FIRST.format('')}"
        )
        rows = await self.reads.fetchall(user_id, statement, params)
        return [NotificationRow(*_listed(row)) for row in rows]

    async def get(self, user_id: str, notification_id: UUID) -> NotificationDetail | None:
        """One notification with its attempts, or the reminder to come with that id."""
        params = {"user_id": user_id, "id": notification_id}
        rows, attempts, coming = await self.reads.fetch_each(
            user_id, (self.GET, params), (self.ATTEMPTS, params), (self.GET_PENDING, params)
        )
        if rows:
            detail = NotificationDetail(*rows[0])
            detail.attempt_log = [Attempt(*a) for a in attempts]
            return detail
        return NotificationDetail(*pending.worded(coming[0])) if coming else None

    async def mark_read(
        self, user_id: str, notification_id: UUID, now: datetime
    ) -> NotificationRow | None:
        """Set ``read_at`` (once: reading again keeps the first time); None if not found.
        An UPDATE as the user (``pcem_api`` may update ``read_at`` and ``updated_at``),
        committed with the round trip's Sync. A reminder still to come has nothing to
        read yet: :class:`NotSentYetError`."""
        params = {"user_id": user_id, "id": notification_id, "now": now}
        rows = await self.reads.fetchall(user_id, self.MARK_READ, params)
        if rows:
            return NotificationRow(*rows[0])
        if await self.reads.fetchall(user_id, self.GET_PENDING, params):
            raise NotSentYetError(notification_id)
        return None


class NotSentYetError(Exception):
    """Marking read a reminder that is not due yet: there is nothing to read."""

    def __init__(self, notification_id: UUID) -> None:
        super().__init__(
            f"notification {notification_id} is not due yet: it can be marked read once sent"
        )


class FailedNotification(NotificationRow):
    """A notification as operators see it: whose it is, too."""

    user_id: str


class FailedSet:
    """Failed notifications of every user: for operators only, never scoped."""

    _SELECT = f"SELECT {COLUMNS}, user_id FROM notifications"  # noqa: S608 (a constant list)
    _ORDER = " ORDER BY due_at DESC, id DESC LIMIT :limit"
    FIRST = text(_SELECT + " WHERE status = 'failed'" + _ORDER)
    AFTER = text(
        _SELECT + " WHERE status = 'failed' AND (due_at, id) < (:before_at, :before_id)" + _ORDER
    )
    GET = text(_SELECT + " WHERE id = :id")

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def page(
        self, *, before: tuple[datetime, UUID] | None = None, limit: int = 50
    ) -> list[FailedNotification]:
        """Failed notifications, newest ``due_at`` first."""
        params: dict[str, Any] = {"limit": limit}
        if before is not None:
            params.update(before_at=before[0], before_id=before[1])
        with self.engine.connect() as conn:
            rows = conn.execute(self.AFTER if before else self.FIRST, params).all()
        return [FailedNotification(*row) for row in rows]

    def get(self, notification_id: UUID) -> FailedNotification | None:
        """Any notification, failed or not (what an operator's retry answers)."""
        with self.engine.connect() as conn:
            row = conn.execute(self.GET, {"id": notification_id}).first()
        return FailedNotification(*row) if row else None


class Overdue:
    """Reminders due more than five minutes ago and not yet sent: the scheduler's or the
    workers' backlog, in the ledger or not even there yet."""

    COUNT = text(
        "SELECT (SELECT count(*) FROM notifications"
        "        WHERE status IN ('scheduled', 'sending') AND due_at < :before)"
        "     + (SELECT count(*) FROM notification_schedule s"
        "        WHERE s.status = 'scheduled' AND s.due_at < :before"
        "        AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.id = s.id))"
    )

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def count(self, now: datetime) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(self.COUNT, {"before": now - OVERDUE_AFTER}).scalar_one())
