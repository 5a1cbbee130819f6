"""What an erasure changes outside the event store and the read models: every copy of
a subject's personal data the process manager, the API and imports keep.

Each method is safe to repeat (a command and the tombstone's follower both call
them) and touches only the erased subject's rows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
import redis
import structlog
from sqlalchemy import Connection, Engine, text

from pcem.eventstore.keys import SubjectKeys
from pcem.projections.writes import read

log = structlog.get_logger(__name__)

# What an erased import problem says instead (its record keeps its number only).
ERASED_PROBLEM = "erased"
_BLANK_LEDGER = (
    "UPDATE notifications SET title = '', body = '', last_error = NULL,"
    " status = CASE WHEN status IN ('scheduled', 'sending', 'failed') THEN 'cancelled'"
    " ELSE status END, lease_until = NULL, next_attempt_at = NULL,"
    " erased_at = coalesce(erased_at, :now), updated_at = :now"
)
_OF_PERSON = "user_id = :user_id AND (person_id = :subject_id OR event_id = :subject_id)"
_BLANK_ATTEMPTS = "UPDATE notification_attempts SET error = NULL WHERE error IS NOT NULL AND"


class ErasureEffects:
    BLANK_SUBJECT_LEDGER = text(f"{_BLANK_LEDGER} WHERE {_OF_PERSON}")
    BLANK_SUBJECT_ATTEMPTS = text(
        f"{_BLANK_ATTEMPTS} notification_id IN"  # noqa: S608 (constant fragments)
        f" (SELECT id FROM notifications WHERE {_OF_PERSON})"
    )
    BLANK_USER_LEDGER = text(f"{_BLANK_LEDGER} WHERE user_id = :user_id")
    BLANK_USER_ATTEMPTS = text(
        f"{_BLANK_ATTEMPTS} notification_id IN"  # noqa: S608 (constant fragments)
        " (SELECT id FROM notifications WHERE user_id = :user_id)"
    )
    FORGET_SUBJECT_KEYS = text(
        "DELETE FROM idempotency_keys WHERE user_id = :user_id"
        " AND (aggregate_id = :subject_id OR result_id = :subject_id)"
    )
    FORGET_USER_KEYS = text("DELETE FROM idempotency_keys WHERE user_id = :user_id")
    PROBLEMS_NAMING = text(
        "SELECT id, problems FROM imports WHERE user_id = :user_id"
        " AND strpos(lower(problems::text), lower(:name)) > 0 FOR UPDATE"
    )
    SET_PROBLEMS = text("UPDATE imports SET problems = CAST(:problems AS jsonb) WHERE id = :id")
    FORGET_IMPORTS = text("DELETE FROM imports WHERE user_id = :user_id")
    FORGET_FEED = text("DELETE FROM calendar_feeds WHERE user_id = :user_id")

    def __init__(self, engine: Engine, client: redis.Redis[bytes], keys: SubjectKeys) -> None:
        self.engine = engine
        self.redis = client
        self.keys = keys

    # A person (or one of their calendar entries)

    def forget_subject(self, conn: Connection, user_id: str, subject_id: UUID) -> None:
        """The ledger's copies about the subject blanked (pending ones cancelled) and
        the idempotency records that replay it removed, in the caller's transaction."""
        params = {"user_id": user_id, "subject_id": subject_id, "now": datetime.now(UTC)}
        conn.execute(self.BLANK_SUBJECT_ATTEMPTS, params)
        conn.execute(self.BLANK_SUBJECT_LEDGER, params)
        conn.execute(self.FORGET_SUBJECT_KEYS, params)

    def forget_name(self, conn: Connection, user_id: str, full_name: str) -> int:
        """Import problems naming the person (``record`` says "card 3 (Ada Lovelace)", a
        relation's message names its target) blanked; how many imports changed."""
        if not full_name.strip():
            return 0
        # ``read``: also inside the follower's pipelined batch (pcem.projections.writes).
        rows = read(conn, self.PROBLEMS_NAMING, {"user_id": user_id, "name": full_name})
        changed = 0
        for row in rows:
            problems = [_without_name(p, full_name) for p in row.problems]
            conn.execute(self.SET_PROBLEMS, {"id": row.id, "problems": _json(problems)})
            changed += 1
        return changed

    def destroy_keys(self, user_id: str, subject_id: UUID) -> int:
        """The subject's data key (and, for a person, their calendar entries')."""
        return self.keys.destroy_person(user_id, subject_id)

    # A whole account

    def forget_account(self, user_id: str) -> None:
        """Everything of the user's kept beside the event store: the ledger blanked
        (its rows stay as keys, so nothing is made or sent again), the attempt log's
        errors, idempotency records, imports, the calendar feed, and the in-flight
        idempotency locks in Redis."""
        params = {"user_id": user_id, "now": datetime.now(UTC)}
        with self.engine.begin() as conn:
            for statement in (
                self.BLANK_USER_ATTEMPTS,
                self.BLANK_USER_LEDGER,
                self.FORGET_USER_KEYS,
                self.FORGET_IMPORTS,
                self.FORGET_FEED,
            ):
                conn.execute(statement, params)
        self._forget_redis(user_id)

    def _forget_redis(self, user_id: str) -> None:
        # The only per-user keys holding anything of a request (pcem.commands.idempotency).
        pattern = f"pcem:idempotency:{_glob_escaped(user_id)}:*"
        try:
            names = list(self.redis.scan_iter(match=pattern, count=500))
            if names:
                self.redis.delete(*names)
        except redis.RedisError as error:  # they expire within a minute anyway
            log.warning("erasure.redis_unavailable", error=type(error).__name__)


def _without_name(problem: dict[str, Any], full_name: str) -> dict[str, Any]:
    text_of = f"{problem.get('record', '')}\x00{problem.get('message', '')}".lower()
    if full_name.lower() not in text_of:
        return problem
    record = str(problem.get("record", ""))
    return {"record": record.split(" (", 1)[0], "message": ERASED_PROBLEM}


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def _glob_escaped(value: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in value)
