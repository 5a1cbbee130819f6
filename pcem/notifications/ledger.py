"""The notification ledger: each reminder's own durable state, and the outbox.

A notification is created from a due row of the schedule (a read model) and
keyed by that row's id, so a rebuilt schedule finds its notifications already
there: nothing is created or sent twice. Every state change that needs the
broker writes its ``outbox`` row in the same transaction; the relay publishes
them (``pcem.processors.relay``). The clock is an argument everywhere, so the
rules are tested with any time.

States: ``scheduled`` (waiting to be handed to a worker at ``next_attempt_at``,
or handed out at ``handed_out_at``), ``sending`` (a worker holds it until
``lease_until``), ``sent``, ``failed`` (retries exhausted: the failed set), and
``cancelled`` (no longer wanted, or its occurrence passed while PCEM was down).
A delivery's own statements (claim, settle) are in ``pcem.notifications.claims``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Engine, text

from pcem.aggregates.wording import reminder
from pcem.notifications.wanted import destination

# What an outbox row asks for: hand its notification to a delivery. (Rows are
# relayed as the processors' Celery task for it: ``pcem.processors.tasks``.)
DELIVERY = "pcem.deliver"
SWEEP_BATCH = 1000
MAX_SUSPECTS = 10 * SWEEP_BATCH  # lost hand-outs a tick may hand out again
MAX_TICK_SECONDS = 30.0  # a tick's sweep stops here; the next one goes on
# A reminder that fell due while PCEM was down is still sent late, but not once its
# occurrence's day is over: then it would announce what has passed.
OCCURRENCE_PASSED = "the occurrence passed before it could be sent"
OCCURRENCE_OVER = timedelta(days=1)
# A reminder appears in the schedule when the projector applies its event, a little
# after it was recorded; the sweep looks this far behind where it got to.
PROJECTION_LAG_ALLOWANCE = timedelta(hours=1)

CREATE_COLUMNS = (
    "id, user_id, event_id, person_id, channel, channel_key, lead_time_days,"
    " occurrence_date, occurs_at, due_at, status, last_error, title, body"
)
COPIED = CREATE_COLUMNS.split(", ")[:10]  # from the schedule's row as they are


class Ledger:
    # The due reminders nobody has made a notification of yet; another scheduler's
    # tick skips the rows this one holds.
    DUE = text(
        "SELECT s.id, s.user_id, s.event_id, s.person_id, s.channel, s.channel_key,"
        " s.lead_time_days, s.occurrence_date, s.occurs_at, s.due_at, s.person_name, s.title"
        " FROM notification_schedule s"
        " WHERE s.status = 'scheduled' AND s.due_at > :since AND s.due_at <= :now"
        " AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.id = s.id)"
        " ORDER BY s.due_at LIMIT :limit FOR UPDATE OF s SKIP LOCKED"
    )
    # The batch's notifications, made from arrays in one statement, and the outbox row
    # of each one newly made to be sent, in the same statement (so the same transaction).
    CREATE = text(
        "WITH made AS (INSERT INTO notifications"  # noqa: S608 (a constant list)
        f" ({CREATE_COLUMNS}, handed_out_at)"
        " SELECT *, CAST(:now AS timestamptz) FROM unnest(CAST(:id AS uuid[]),"
        " CAST(:user_id AS text[]), CAST(:event_id AS uuid[]), CAST(:person_id AS uuid[]),"
        " CAST(:channel AS text[]), CAST(:channel_key AS text[]),"
        " CAST(:lead_time_days AS integer[]), CAST(:occurrence_date AS date[]),"
        " CAST(:occurs_at AS timestamptz[]), CAST(:due_at AS timestamptz[]),"
        " CAST(:status AS text[]), CAST(:last_error AS text[]), CAST(:title AS text[]),"
        " CAST(:body AS text[]))"
        " ON CONFLICT (id) DO NOTHING RETURNING id, status)"
        " INSERT INTO outbox (task, subject_id)"
        " SELECT :task, id FROM made WHERE status = 'scheduled'"
    )
    WATERMARK = text("SELECT swept_to FROM scheduler_watermark")
    ADVANCE = text("UPDATE scheduler_watermark SET swept_to = greatest(swept_to, :swept_to)")
    ENQUEUE = text("INSERT INTO outbox (task, subject_id) VALUES (:task, :id)")
    # A worker that died holding a notification lets go of it when its lease lapses;
    # a hand-out that never reached a worker (a broker that lost it) is handed out again.
    RELEASE_LAPSED = text(
        "UPDATE notifications SET status = 'scheduled', next_attempt_at = :now,"
        " lease_until = NULL, updated_at = :now"
        " WHERE status = 'sending' AND lease_until < :now"
    )
    HAND_OUT = text(
        "WITH ready AS (SELECT id FROM notifications WHERE status = 'scheduled'"
        " AND next_attempt_at <= :now ORDER BY next_attempt_at LIMIT :limit"
        " FOR UPDATE SKIP LOCKED),"
        " handed AS (UPDATE notifications n SET next_attempt_at = NULL, handed_out_at = :now"
        " FROM ready WHERE n.id = ready.id RETURNING n.id)"
        " INSERT INTO outbox (task, subject_id) SELECT :task, id FROM handed"
    )
    # A hand-out older than the lease and still unclaimed was lost by the broker, or is
    # still queued behind a deep backlog. Only the notifications waiting for a worker
    # beyond the messages there are for them (in the outbox or queued) can be lost
    # ones: handing out more would fill the queue with copies, all of them when the
    # backlog takes longer than the lease to drain. One scheduler at a time counts.
    LOST_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended('pcem-hand-out', 0))")
    UNQUEUED = text(
        "SELECT (SELECT count(*) FROM notifications"
        " WHERE status = 'scheduled' AND next_attempt_at IS NULL)"
        " - (SELECT count(*) FROM outbox WHERE task = :task)"
    )
    # A worker takes a message off the queue a moment before it claims the notification:
    # counted in that moment, the notification looks lost. So the oldest ones a count
    # finds without a message are only suspected; the next tick hands out again those
    # it still finds unclaimed and past their lease.
    SUSPECTS = text(
        "SELECT id FROM notifications WHERE status = 'scheduled'"
        " AND next_attempt_at IS NULL AND handed_out_at < :stale"
        " ORDER BY handed_out_at LIMIT :limit"
    )
    HAND_OUT_LOST = text(
        "WITH ready AS (SELECT id FROM notifications WHERE id = ANY(:ids)"
        " AND status = 'scheduled' AND next_attempt_at IS NULL AND handed_out_at < :stale"
        " FOR UPDATE SKIP LOCKED),"
        " handed AS (UPDATE notifications n SET handed_out_at = :now"
        " FROM ready WHERE n.id = ready.id RETURNING n.id)"
        " INSERT INTO outbox (task, subject_id) SELECT :task, id FROM handed"
    )
    # The failed notifications to retry, held, with what says whether each is still
    # wanted: the schedule's row and the user's channels, as a worker's claim reads them.
    FAILED = text(
        "SELECT n.id, n.channel_key, s.status AS schedule_status, s.cancel_reason,"
        " u.notifications -> 'channels' AS channels"
        " FROM notifications n LEFT JOIN notification_schedule s ON s.id = n.id"
        " LEFT JOIN user_settings u ON u.user_id = n.user_id"
        " WHERE n.status = 'failed' AND (CAST(:id AS uuid) IS NULL OR n.id = :id)"
        " ORDER BY n.due_at DESC, n.id DESC FOR UPDATE OF n"
    )
    SEND_AGAIN = text(
        "UPDATE notifications SET status = 'scheduled', retry_base = attempts,"
        " next_attempt_at = NULL, handed_out_at = :now, updated_at = :now"
        " WHERE id = :id"
    )
    CANCEL = text(
        "UPDATE notifications SET status = 'cancelled', retry_base = attempts,"
        " last_error = :reason, updated_at = :now WHERE id = :id"
    )
    # retry_base is the attempts made before an operator's last retry: 0 if never retried.
    RETRIED_BEFORE = text(
        "SELECT status, retry_base > 0 AS retried FROM notifications WHERE id = :id"
    )

    def __init__(self, engine: Engine, *, lease: timedelta = timedelta(seconds=60)) -> None:
        self.engine = engine
        self.lease = lease
        self.suspects: frozenset[UUID] = frozenset()  # found without a message last tick

    def tick(self, now: datetime, queued: Callable[[], int] = lambda: 0) -> int:
        """One scheduler tick: notifications for the due reminders, lapsed leases let go,
        retries and lost hand-outs handed out again. Idempotent; the outbox rows it
        wrote are what it hands out. ``queued`` counts the delivery messages in the
        broker's queue (none by default: a test's broker that keeps nothing)."""
        # In batches, each its own transaction, until one comes back short: 10,000
        # reminders due at 09:00 all leave at 09:00, not one batch a tick.
        deadline = time.monotonic() + MAX_TICK_SECONDS
        taken = SWEEP_BATCH
        total = 0
        while taken == SWEEP_BATCH and time.monotonic() < deadline:
            with self.engine.begin() as conn:
                taken, created = self._create_due(conn, now)
            total += created
        with self.engine.begin() as conn:
            conn.execute(self.RELEASE_LAPSED, {"now": now})
        params = {"now": now, "limit": SWEEP_BATCH, "task": DELIVERY}
        handed = SWEEP_BATCH
        while handed == SWEEP_BATCH and time.monotonic() < deadline:
            with self.engine.begin() as conn:
                handed = conn.execute(self.HAND_OUT, params).rowcount
            total += handed
        with self.engine.begin() as conn:
            total += self._hand_out_lost(conn, now, queued)
        return total

    def _hand_out_lost(self, conn: Connection, now: datetime, queued: Callable[[], int]) -> int:
        """The lost hand-outs handed out again: those this count and the last one both
        found without a message. The messages in the outbox are counted before those in
        the queue, so one the relay moves meanwhile is counted twice (one suspect fewer),
        never missed (one too many)."""
        conn.execute(self.LOST_LOCK)
        unqueued = conn.execute(self.UNQUEUED, {"task": DELIVERY}).scalar_one() - queued()
        stale = now - self.lease
        found: Sequence[UUID] = []
        if unqueued > 0:
            limit = min(unqueued, MAX_SUSPECTS)
            found = conn.execute(self.SUSPECTS, {"stale": stale, "limit": limit}).scalars().all()
        again = [id_ for id_ in found if id_ in self.suspects]
        self.suspects = frozenset(found).difference(again)
        if not again:
            return 0
        params = {"ids": again, "now": now, "stale": stale, "task": DELIVERY}
        return conn.execute(self.HAND_OUT_LOST, params).rowcount

    def _create_due(self, conn: Connection, now: datetime) -> tuple[int, int]:
        """One batch of due reminders made notifications: (rows taken, notifications to send)."""
        swept_to = conn.execute(self.WATERMARK).scalar_one()
        since = swept_to - PROJECTION_LAG_ALLOWANCE
        due = (
            conn.execute(self.DUE, {"since": since, "now": now, "limit": SWEEP_BATCH})
            .mappings()
            .all()
        )
        # Swept up to now, or (a full batch) up to the last one taken.
        reached = now if len(due) < SWEEP_BATCH else due[-1]["due_at"]
        conn.execute(self.ADVANCE, {"swept_to": reached})
        if not due:
            return 0, 0
        columns: dict[str, list[Any]] = {name: [row[name] for row in due] for name in COPIED}
        columns.update(status=[], last_error=[], title=[], body=[])
        for row in due:
            passed = now >= row["occurs_at"] + OCCURRENCE_OVER
            wording = reminder(
                row["person_name"], row["title"], row["lead_time_days"], row["occurrence_date"]
            )
            columns["status"].append("cancelled" if passed else "scheduled")
            columns["last_error"].append(OCCURRENCE_PASSED if passed else None)
            columns["title"].append(wording.title)
            columns["body"].append(wording.body)
        created = conn.execute(self.CREATE, {**columns, "now": now, "task": DELIVERY}).rowcount
        return len(due), created

    def retry_failed(self, now: datetime, notification_id: UUID | None = None) -> Retried:
        """Send failed notifications again (one, or all), each to its channel's current
        address; one no longer wanted (its channel removed, its person deleted...) is
        cancelled at once instead, with the reason. Idempotent: only a failed one moves."""
        retried = Retried([], {})
        with self.engine.begin() as conn:
            for row in conn.execute(self.FAILED, {"id": notification_id}):
                wanted = destination(
                    row.schedule_status, row.cancel_reason, row.channel_key, row.channels
                )
                if isinstance(wanted, str):
                    conn.execute(self.CANCEL, {"id": row.id, "reason": wanted, "now": now})
                    retried.cancelled[row.id] = wanted
                else:
                    conn.execute(self.SEND_AGAIN, {"id": row.id, "now": now})
                    conn.execute(self.ENQUEUE, {"task": DELIVERY, "id": row.id})
                    retried.sent_again.append(row.id)
        return retried

    def retry(self, notification_id: UUID, now: datetime) -> bool | None:
        """An operator's retry of one notification: True if it was failed and is handed
        out again (or cancelled, no longer wanted); False if an earlier retry already
        did that (a repeated request: nothing changes); None if there is no such
        notification. One that was never failed is an operator's mistake:
        :class:`NotFailedError`."""
        if self.retry_failed(now, notification_id).moved:
            return True
        with self.engine.connect() as conn:
            state = conn.execute(self.RETRIED_BEFORE, {"id": notification_id}).first()
        if state is None:
            return None
        if state.retried:
            return False
        raise NotFailedError(notification_id, state.status)


@dataclass(frozen=True)
class Retried:
    """What a retry did: the notifications handed out again, and those cancelled
    instead, each with why it is no longer wanted."""

    sent_again: list[UUID]
    cancelled: dict[UUID, str]

    @property
    def moved(self) -> int:
        return len(self.sent_again) + len(self.cancelled)


class NotFailedError(Exception):
    """A retry of a notification that has never been in the failed set."""

    def __init__(self, notification_id: UUID, status: str) -> None:
        super().__init__(f"notification {notification_id} is not in the failed set: it is {status}")
        self.status = status
