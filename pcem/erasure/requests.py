"""The ``account_erasures`` table: each erasure of an account, who asked, how far it got.

A request is its row and the outbox message that starts the work, in one
transaction; a user has at most one unfinished erasure (asking again answers that
one). The work records its progress after each committed step, under a session
advisory lock (a second copy of the message finds it held and leaves; a dead
worker's lock goes with its connection), and the tick sends an erasure nobody
holds and that stopped moving again, as it does an import.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import structlog
from sqlalchemy import Engine, text

from pcem.database import session_locks

log = structlog.get_logger(__name__)

# The outbox message that starts (or resumes) an erasure (pcem.processors.tasks).
ERASE = "pcem.erase"


@dataclass(frozen=True)
class Erasure:
    id: UUID
    user_id: str
    generation: int  # the account that follows; the erased one is generation - 1
    requested_by: str
    channel: str
    head_position: int
    state: str
    people_cursor: UUID | None
    people_purged: int
    tombstones_position: int
    keys_destroyed: int
    requested_at: datetime
    finished_at: datetime | None

    @property
    def erased_generation(self) -> int:
        return self.generation - 1


_COLUMNS = (
    "id, user_id, generation, requested_by, channel, head_position, state, people_cursor,"
    " people_purged, tombstones_position, keys_destroyed, requested_at, finished_at"
)


class AccountErasures:
    # One request at a time per user: the lock orders concurrent ones.
    LOCK_USER = text(
        "SELECT pg_advisory_xact_lock(hashtextextended('pcem-erasure-user:' || :u, 0))"
    )
    UNFINISHED = text(
        f"SELECT {_COLUMNS} FROM account_erasures"  # noqa: S608 (constant columns)
        " WHERE user_id = :u AND state = 'erasing'"
    )
    INSERT = text(
        "INSERT INTO account_erasures (id, user_id, generation, requested_by, channel,"  # noqa: S608
        " head_position, state, requested_at, updated_at)"
        " SELECT :id, :u, coalesce(max(generation), 0) + 1, :by, :channel,"
        " (SELECT coalesce(max(notification_id), 0) FROM pcem_events), 'erasing', :now, :now"
        " FROM account_erasures WHERE user_id = :u"
        f" RETURNING {_COLUMNS}"
    )
    ENQUEUE = text("INSERT INTO outbox (task, subject_id) VALUES (:task, :id)")
    GENERATION = text(
        "SELECT coalesce(max(generation), 0) FROM account_erasures"
        " WHERE user_id = :u AND state = 'done'"
    )
    LOAD = text(f"SELECT {_COLUMNS} FROM account_erasures WHERE id = :id")  # noqa: S608
    PEOPLE_PURGED = text(
        "UPDATE account_erasures SET people_cursor = :cursor,"
        " people_purged = people_purged + :purged, keys_destroyed = keys_destroyed + :keys,"
        " tombstones_position = greatest(tombstones_position, :position), updated_at = now()"
        " WHERE id = :id"
    )
    KEYS_DESTROYED = text(
        "UPDATE account_erasures SET keys_destroyed = keys_destroyed + :destroyed,"
        " tombstones_position = greatest(tombstones_position, :position), updated_at = now()"
        " WHERE id = :id"
    )
    FINISH = text(
        "UPDATE account_erasures SET state = 'done', finished_at = now(), updated_at = now()"
        " WHERE id = :id"
    )
    STALLED = text(
        "SELECT id FROM account_erasures WHERE state = 'erasing' AND updated_at < :before"
        " AND pg_try_advisory_xact_lock(hashtextextended('pcem-erasure:' || id::text, 0))"
        " ORDER BY updated_at LIMIT 100"
    )
    TOUCH = text("UPDATE account_erasures SET updated_at = now() WHERE id = ANY(:ids)")

    def __init__(self, engine: Engine, *, stalled_after: timedelta) -> None:
        self.engine = engine
        self.stalled_after = stalled_after

    def request(self, user_id: str, *, requested_by: str, channel: str, now: datetime) -> Erasure:
        """A new erasure of the user's account, or the unfinished one already asked for."""
        params = {"u": user_id, "by": requested_by, "channel": channel, "now": now, "id": uuid4()}
        with self.engine.begin() as conn:
            conn.execute(self.LOCK_USER, params)
            row = conn.execute(self.UNFINISHED, params).first()
            if row is not None:
                return Erasure(*row)
            erasure = Erasure(*conn.execute(self.INSERT, params).one())
            conn.execute(self.ENQUEUE, {"task": ERASE, "id": erasure.id})
        log.info(
            "account.erasure_requested",
            erasure_id=str(erasure.id),
            user_id=user_id,
            requested_by=requested_by,
            channel=channel,
        )
        return erasure

    def generation(self, user_id: str) -> int:
        """The user's current account: how many erasures of it are done (0: none). An
        erasure still running leaves the erased account current, so nothing new is
        saved under the ids it is erasing, nor under the next account's before then."""
        with self.engine.connect() as conn:
            return int(conn.execute(self.GENERATION, {"u": user_id}).scalar_one())

    def load(self, erasure_id: UUID) -> Erasure | None:
        with self.engine.connect() as conn:
            row = conn.execute(self.LOAD, {"id": erasure_id}).first()
        return Erasure(*row) if row is not None else None

    def held(self, erasure_id: UUID) -> AbstractContextManager[bool]:
        """Whether this run holds the erasure (released on leaving, or with the
        connection of a process that died)."""
        return session_locks.held(self.engine, "pcem-erasure", erasure_id)

    def people_purged(
        self, erasure_id: UUID, cursor: UUID, *, purged: int, keys: int, position: int
    ) -> None:
        params = {
            "id": erasure_id,
            "cursor": cursor,
            "purged": purged,
            "keys": keys,
            "position": position,
        }
        with self.engine.begin() as conn:
            conn.execute(self.PEOPLE_PURGED, params)

    def keys_destroyed(self, erasure_id: UUID, destroyed: int, position: int = 0) -> None:
        params = {"id": erasure_id, "destroyed": destroyed, "position": position}
        with self.engine.begin() as conn:
            conn.execute(self.KEYS_DESTROYED, params)

    def finish(self, erasure: Erasure) -> None:
        with self.engine.begin() as conn:
            conn.execute(self.FINISH, {"id": erasure.id})
        log.info("account.erased", erasure_id=str(erasure.id), user_id=erasure.user_id)

    def send_stalled_again(self, now: datetime) -> list[UUID]:
        """Enqueue again the unfinished erasures nobody runs that have not moved for
        ``stalled_after``; their ids."""
        with self.engine.begin() as conn:
            ids = list(conn.execute(self.STALLED, {"before": now - self.stalled_after}).scalars())
            for erasure_id in ids:
                conn.execute(self.ENQUEUE, {"task": ERASE, "id": erasure_id})
            if ids:
                conn.execute(self.TOUCH, {"ids": ids})
        if ids:
            log.warning("account.erasure_sent_again", erasures=[str(i) for i in ids])
        return ids
