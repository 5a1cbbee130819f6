"""A delivery's part of the ledger: claim a notification, then settle the attempt.

The hot path of every delivery, so it is two statements on one connection, in
autocommit (a single statement is atomic), on psycopg directly:

- **claim**: the conditional update that takes the notification (a duplicate
  task, or a second worker, finds nothing to take), with the other members of
  its digest if it has one, joined in the same statement to the schedule and
  the user's settings, so the worker learns whether each reminder is still
  wanted without a second round trip;
- **settle**: the attempt's outcome and its line in the attempt log, together,
  for every member of the message at once.

The pool does not ping a connection before each use (a round trip a
statement). A connection found broken instead (PostgreSQL restarted, the TCP
connection dropped) is replaced and the statement sent again, once: both are
safe to repeat. A claim that did commit before its answer was lost finds the
notification taken, so the worker skips it and the lease hands it out again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

import psycopg
from psycopg.rows import class_row
from psycopg_pool import ConnectionPool

T = TypeVar("T")

CLAIMED_COLUMNS = (
    "id, user_id, event_id, person_id, channel, channel_key, lead_time_days,"
    " occurrence_date, due_at, attempts, retry_base, read_at, title, body"
)


@dataclass(frozen=True)
class Claimed:
    """A notification a worker now holds (``sending``), what it needs to send it, and
    the schedule's say on it at the moment of the claim."""

    id: UUID
    user_id: str
    event_id: UUID
    person_id: UUID
    channel: str
    channel_key: str
    lead_time_days: int
    occurrence_date: date
    due_at: datetime
    attempts: int
    retry_base: int  # attempts before an operator's last retry: the budget starts anew
    read_at: datetime | None
    title: str
    body: str
    schedule_status: str | None  # None: the reminder has left the schedule
    cancel_reason: str | None
    channels: list[dict[str, Any]] | None  # the user's channels (None: never set)


class Claims:
    # The notification, and with it (an email or SMS one of a user with the digest on)
    # every other of the user's on that channel due the same UTC minute that is free to
    # take: one message carries them all (pcem.processors.digest). Two workers taking
    # members of one group at once would each send part of it, so the lead row first
    # takes the group's transaction lock: the second waits, and its update then finds
    # each row the first took 'sending' (a read-committed update re-checks a row changed
    # under it) and takes nothing. Every row the update takes is joined to the lead, so
    # the lock is held before any row is, and the lock comes before the rows for every
    # claimer of the group: no deadlock.
    #
    # Rows are found by primary key whatever the statistics say. A literal
    # ``status = 'scheduled'`` beside the id lets the planner walk the hand-out index
    # (partial on that status) instead, which it takes for nearly empty when ANALYZE
    # last ran between bursts, or over a long history of sent ones: every claim then
    # read every waiting notification (7,500 rows, 5-9 ms a claim, seen). So the
    # notification is fetched alone first (``target``), and the update compares each
    # row's status with the lead's, a value the partial index cannot be matched to.
    CLAIM = (
        "WITH target AS MATERIALIZED (SELECT * FROM notifications"  # noqa: S608
        " WHERE id = %(id)s),"
        " lead AS MATERIALIZED (SELECT n.user_id, n.channel_key, n.status,"
        " date_bin('1 minute', n.due_at, TIMESTAMPTZ '2000-01-01Z') AS minute,"
        " n.channel IN ('email', 'sms')"
        " AND coalesce((u.notifications ->> 'digest')::boolean, true) AS grouped"
        " FROM target n LEFT JOIN user_settings u ON u.user_id = n.user_id"
        " WHERE n.status = 'scheduled'"
        " AND (n.next_attempt_at IS NULL OR n.next_attempt_at <= %(now)s)),"
        " locked AS MATERIALIZED (SELECT *, CASE WHEN grouped THEN pg_advisory_xact_lock("
        "hashtextextended('pcem-digest:' || user_id || '/' || channel_key || '/'"
        " || extract(epoch FROM minute)::bigint, 0)) END AS waited FROM lead),"
        # The rows to take: the notification, and its group's only when it has one (a
        # one-time filter: the user's other rows that minute are not even read).
        " members AS (SELECT %(id)s::uuid AS id FROM locked UNION SELECT g.id FROM locked l"
        " JOIN notifications g ON l.grouped AND g.user_id = l.user_id"
        " AND g.channel_key = l.channel_key"
        " AND g.due_at >= l.minute AND g.due_at < l.minute + interval '1 minute'),"
        " claimed AS (UPDATE notifications n SET status = 'sending',"
        " attempts = n.attempts + 1, lease_until = %(lease_until)s, updated_at = %(now)s"
        " FROM locked l, members m WHERE n.id = m.id AND n.status = l.status"
        " AND (n.next_attempt_at IS NULL OR n.next_attempt_at <= %(now)s)"
        f" RETURNING {', '.join(f'n.{c.strip()}' for c in CLAIMED_COLUMNS.split(','))})"
        " SELECT c.*, s.status AS schedule_status, s.cancel_reason,"
        " u.notifications -> 'channels' AS channels"
        " FROM claimed c LEFT JOIN notification_schedule s ON s.id = c.id"
        " LEFT JOIN user_settings u ON u.user_id = c.user_id"
        " ORDER BY c.occurrence_date, c.title, c.id"
    )
    # The update is a CTE: it runs whether or not it matched (a lapsed lease, handed on
    # by the reconciler meanwhile, perhaps claimed again: only the attempt that holds
    # the claim settles it), and the attempt is logged either way. One statement for
    # every member of a digest: they are settled together or not at all.
    SETTLE = (
        "WITH members AS (SELECT * FROM unnest(%(ids)s::uuid[], %(attempts)s::integer[])"
        " AS m (id, attempt)),"
        " settled AS (UPDATE notifications n SET status = %(status)s,"
        " last_error = %(error)s, sent_at = %(sent_at)s, next_attempt_at = %(next_attempt_at)s,"
        " lease_until = NULL, updated_at = %(now)s FROM members m"
        " WHERE n.id = m.id AND n.status = 'sending' AND n.attempts = m.attempt)"
        " INSERT INTO notification_attempts"
        " (notification_id, attempt, at, outcome, error, message_id)"
        " SELECT id, attempt, %(now)s, %(outcome)s, %(error)s, %(message_id)s FROM members"
        " ON CONFLICT (notification_id, attempt) DO NOTHING"
    )

    def __init__(self, pool: ConnectionPool[psycopg.Connection[Any]], *, lease: timedelta) -> None:
        self.pool = pool
        self.lease = lease

    @contextmanager
    def session(self) -> Iterator[ClaimSession]:
        """One delivery's statements, on one connection of the pool."""
        session = ClaimSession(self)
        try:
            yield session
        finally:
            session.release()


class ClaimSession:
    def __init__(self, claims: Claims) -> None:
        self.claims = claims
        self.conn: psycopg.Connection[Any] | None = None

    def claim(self, notification_id: UUID, now: datetime) -> list[Claimed]:
        """Take the notification for sending, with the rest of its digest (see
        ``CLAIM``); none if another worker has it, it is settled, or its next attempt
        is not due (a duplicate task changes nothing). All under one lease."""
        params = {"id": notification_id, "now": now, "lease_until": now + self.claims.lease}
        return self._run(lambda conn: _claimed(conn, params))

    def settle(
        self,
        members: Sequence[Claimed],
        now: datetime,
        *,
        outcome: str,
        error: str | None = None,
        next_attempt_at: datetime | None = None,
        message_id: UUID | None = None,
    ) -> None:
        """Record an attempt's outcome for each of ``members`` at once: ``sent``,
        ``retry`` (at ``next_attempt_at``), ``failed`` or ``cancelled``; the attempt
        goes into each one's log with it, naming the message that carried it."""
        params = {
            "ids": [member.id for member in members],
            "attempts": [member.attempts for member in members],
            "status": "scheduled" if outcome == "retry" else outcome,
            "error": error,
            "sent_at": now if outcome == "sent" else None,
            "next_attempt_at": next_attempt_at,
            "now": now,
            "outcome": outcome,
            "message_id": message_id,
        }
        self._run(lambda conn: conn.execute(Claims.SETTLE, params).rowcount)

    def _run(self, statement: Callable[[psycopg.Connection[Any]], T]) -> T:
        try:
            return statement(self._connection())
        except psycopg.OperationalError:
            if self.conn is None or not self.conn.broken:
                raise
            self.release()  # the pool drops a broken connection and opens another
        return statement(self._connection())

    def _connection(self) -> psycopg.Connection[Any]:
        if self.conn is None:
            self.conn = self.claims.pool.getconn()
        return self.conn

    def release(self) -> None:
        if self.conn is not None:
            self.claims.pool.putconn(self.conn)
            self.conn = None


def _claimed(conn: psycopg.Connection[Any], params: dict[str, Any]) -> list[Claimed]:
    with conn.cursor(row_factory=class_row(Claimed)) as cursor:
        return cursor.execute(Claims.CLAIM, params).fetchall()
