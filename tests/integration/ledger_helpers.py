"""Notifications put straight into the ledger, which is plain state (no events, no
projection): what the process manager would have written, at chosen moments."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import redis
from sqlalchemy import Engine, text

from pcem.notifications.in_app import inbox_channel

INSERT = text(
    "INSERT INTO notifications (id, user_id, event_id, person_id, channel, channel_key,"
    " lead_time_days, occurrence_date, occurs_at, due_at, status, attempts, last_error,"
    " sent_at, lease_until, title, body, updated_at)"
    " VALUES (:id, :user_id, :event_id, :person_id, :channel, :channel, :lead_time_days,"
    " :occurrence_date, :occurs_at, :due_at, :status, :attempts, :last_error, :sent_at,"
    " :lease_until, :title, :body, :updated_at)"
)
ATTEMPT = text(
    "INSERT INTO notification_attempts (notification_id, attempt, at, outcome, error,"
    " message_id) VALUES (:id, :attempt, :at, :outcome, :error, :id)"
)
# The reminder a notification came from, still scheduled (its owner's channels are the
# defaults, in-app, unless they saved settings).
SCHEDULED = text(
    "INSERT INTO notification_schedule (id, user_id, event_id, person_id, channel, channel_key,"
    " lead_time_days, occurrence_date, occurs_at, due_at, status, person_name, title)"
    " SELECT id, user_id, event_id, person_id, channel, channel_key, lead_time_days,"
    " occurrence_date, occurs_at, due_at, 'scheduled', 'Ada Lovelace', 'Birthday'"
    " FROM notifications WHERE id = :id"
)
SENT = text(
    "UPDATE notifications SET status = 'sent', sent_at = :sent_at, lease_until = NULL"
    " WHERE id = :id"
)


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class Ledger:
    """Rows of the ``notifications`` table and its attempt log."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(
        self,
        user_id: str,
        *,
        due_at: datetime | None = None,
        status: str = "sent",
        channel: str = "in_app",
        sent_at: datetime | None = None,
        person_id: UUID | None = None,
        **fields: Any,
    ) -> UUID:
        """A notification; a sent one was sent at its due time unless ``sent_at`` says."""
        due_at = due_at or now()
        row = {
            "id": uuid.uuid4(),
            "user_id": user_id,
            "event_id": uuid.uuid4(),
            "person_id": person_id or uuid.uuid4(),
            "channel": channel,
            "lead_time_days": 0,
            "occurrence_date": date(2027, 3, 10),
            "occurs_at": due_at + timedelta(hours=15),
            "due_at": due_at,
            "status": status,
            "attempts": 0 if status == "scheduled" else 1,
            "last_error": "HTTP 503" if status == "failed" else None,
            "sent_at": sent_at or (due_at if status == "sent" else None),
            "lease_until": None,
            "title": "Ada Lovelace's birthday is today",
            "body": "Ada Lovelace's birthday is today — Wednesday 10 March",
            "updated_at": due_at,
            **fields,
        }
        with self.engine.begin() as conn:
            conn.execute(INSERT, row)
        return UUID(str(row["id"]))

    def attempt(
        self, notification_id: UUID, attempt: int, at: datetime, outcome: str, error: str | None
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                ATTEMPT,
                {"id": notification_id, "attempt": attempt, "at": at, "outcome": outcome,
                 "error": error},
            )  # fmt: skip

    def still_scheduled(self, notification_id: UUID) -> None:
        """Its reminder in the schedule, as the projector keeps it while it is wanted.
        Without the person and event rows the schedule's foreign keys name: these
        notifications have none, and the retry reads only the schedule (triggers, the
        keys' checks included, are off for this one transaction)."""
        with self.engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(SCHEDULED, {"id": notification_id})

    def mark_sent(self, notification_id: UUID, sent_at: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(SENT, {"id": notification_id, "sent_at": sent_at})

    def status(self, notification_id: UUID) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(
                text("SELECT status, attempts, retry_base FROM notifications WHERE id = :id"),
                {"id": notification_id},
            ).one()


def publish(client: redis.Redis[bytes], user_id: str, notification_id: UUID) -> None:
    """What the in-app provider publishes (the stream only needs to be woken)."""
    client.publish(inbox_channel(user_id), f'{{"id": "{notification_id}"}}')
