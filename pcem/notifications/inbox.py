"""Reads of the ledger: a user's notifications (the in-app inbox), the failed set,
and how many are overdue. Every user-facing query takes ``user_id`` first."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import Engine, text

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


class NotificationDetail(NotificationRow):
    attempt_log: list[Attempt] = []


class Inbox:
    GET = text(
        f"SELECT {COLUMNS} FROM notifications"  # noqa: S608 (a constant column list)
        " WHERE user_id = :user_id AND id = :id"
    )
    ATTEMPTS = text(
        "SELECT at, outcome, error FROM notification_attempts"
        " WHERE notification_id = :id ORDER BY attempt"
    )
    MARK_READ = text(
        "UPDATE notifications SET read_at = coalesce(read_at, :now), updated_at = :now"
        " WHERE user_id = :user_id AND id = :id"
    )

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def page(
        self,
        user_id: str,
        *,
        status: str | None,
        channel: str | None,
        before: tuple[datetime, UUID] | None,
        limit: int,
    ) -> list[NotificationRow]:
        """The user's notifications, newest ``due_at`` first."""
        where = ["user_id = :user_id"]
        params: dict[str, Any] = {"user_id": user_id, "limit": limit}
        for name, value in (("status", status), ("channel", channel)):
            if value is not None:
                where.append(f"{name} = :{name}")
                params[name] = value
        if before is not None:
            where.append("(due_at, id) < (:before_at, :before_id)")
            params.update(before_at=before[0], before_id=before[1])
        statement = text(
            f"SELECT {COLUMNS} FROM notifications WHERE {' AND '.join(where)}"  # noqa: S608
            " ORDER BY due_at DESC, id DESC LIMIT :limit"
        )
        with self.engine.connect() as conn:
            rows = conn.execute(statement, params).all()
        return [NotificationRow(*row) for row in rows]

    def get(self, user_id: str, notification_id: UUID) -> NotificationDetail | None:
        with self.engine.connect() as conn:
            row = conn.execute(self.GET, {"user_id": user_id, "id": notification_id}).first()
            if row is None:
                return None
            attempts = conn.execute(self.ATTEMPTS, {"id": notification_id}).all()
        detail = NotificationDetail(*row)
        detail.attempt_log = [Attempt(*a) for a in attempts]
        return detail

    def mark_read(self, user_id: str, notification_id: UUID, now: datetime) -> bool:
        """Set ``read_at`` (once: reading again keeps the first time); False if not found."""
        params = {"user_id": user_id, "id": notification_id, "now": now}
        with self.engine.begin() as conn:
            return conn.execute(self.MARK_READ, params).rowcount == 1


class FailedSet:
    _PAGE = f"SELECT {COLUMNS} FROM notifications WHERE status = 'failed'"  # noqa: S608
    _ORDER = " ORDER BY due_at DESC, id DESC LIMIT :limit"
    FIRST = text(_PAGE + _ORDER)
    AFTER = text(_PAGE + " AND (due_at, id) < (:before_at, :before_id)" + _ORDER)

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def page(
        self, *, before: tuple[datetime, UUID] | None = None, limit: int = 50
    ) -> list[NotificationRow]:
        """Failed notifications of every user, newest ``due_at`` first (operators only)."""
        params: dict[str, Any] = {"limit": limit}
        if before is not None:
            params.update(before_at=before[0], before_id=before[1])
        with self.engine.connect() as conn:
            rows = conn.execute(self.AFTER if before else self.FIRST, params).all()
        return [NotificationRow(*row) for row in rows]


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
