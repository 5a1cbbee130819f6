"""Where each projection has got to in the event store, and waiting for it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, text

# Every committed batch NOTIFYs "<name> <position>" here: the API waits on it
# (read-your-writes) without polling.
POSITIONS_CHANNEL = "pcem_projection_positions"


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    position: int
    head: int
    state: str
    error: str | None
    failed_position: int | None = None
    runner: str | None = None

    @property
    def lag(self) -> int:
        return max(self.head - self.position, 0)

    @property
    def is_live(self) -> bool:
        """A projection serving queries (not a rebuild or verification aside)."""
        return "@" not in self.name


class ProjectionTracking:
    ENSURE = text(
        "INSERT INTO projection_tracking (name) VALUES (:name) ON CONFLICT (name) DO NOTHING"
    )
    RESTART = text(
        "INSERT INTO projection_tracking (name, position, state) VALUES (:name, 0, :state)"
        " ON CONFLICT (name) DO UPDATE SET position = 0, state = :state, error = NULL,"
        " failed_position = NULL, updated_at = now()"
    )
    REQUEST = text(
        "INSERT INTO projection_tracking (name, state) VALUES (:name, 'requested')"
        " ON CONFLICT (name) DO NOTHING"
    )
    LOCK_ROW = text("SELECT * FROM projection_tracking WHERE name = :name FOR UPDATE")
    REMOVE = text("DELETE FROM projection_tracking WHERE name = :name")
    NAMES_ENDING = text(
        "SELECT name FROM projection_tracking WHERE right(name, length(:suffix)) = :suffix"
        " ORDER BY updated_at"
    )
    POSITION = text("SELECT position FROM projection_tracking WHERE name = :name")
    HEAD = text("SELECT coalesce(max(notification_id), 0) FROM pcem_events")
    LOCK_POSITION = text("SELECT position FROM projection_tracking WHERE name = :name FOR UPDATE")
    # Every API process hears the move when the batch commits (pcem.api.read_your_writes).
    ADVANCE = text(
        "WITH moved AS (UPDATE projection_tracking SET position = :position, state = :state,"
        " error = NULL, failed_position = NULL, updated_at = now() WHERE name = :name"
        " RETURNING name, position)"
        " SELECT pg_notify(:channel, name || ' ' || position) FROM moved"
    )
    MARK_FAILED = text(
        "UPDATE projection_tracking SET state = 'failed', error = :error,"
        " failed_position = :failed_position, updated_at = now() WHERE name = :name"
    )
    # `runner`: the process holding the row's advisory lock (see locks.TRY_LOCK).
    STATUS = text(
        "SELECT t.name, t.position, t.state, t.error, t.failed_position,"
        " (SELECT coalesce(max(notification_id), 0) FROM pcem_events) AS head,"
        " (SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
        "  WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2"
        "  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        "  AND l.classid = hashtext('pcem.projection')::oid"
        "  AND l.objid = hashtext(t.name)::oid LIMIT 1) AS runner"
        " FROM projection_tracking t ORDER BY t.name"
    )

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def ensure(self, name: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(self.ENSURE, {"name": name})

    def request(self, name: str) -> None:
        """Ask for work on ``name`` (a rebuild), unless it is already asked for or under way."""
        with self.engine.begin() as conn:
            conn.execute(self.REQUEST, {"name": name})

    def restart(self, conn: Connection, name: str, state: str) -> None:
        conn.execute(self.RESTART, {"name": name, "state": state})

    def lock_row(self, conn: Connection, name: str) -> Any:
        return conn.execute(self.LOCK_ROW, {"name": name}).first()

    def remove(self, conn: Connection, name: str) -> None:
        conn.execute(self.REMOVE, {"name": name})

    def names_ending(self, suffix: str) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(self.NAMES_ENDING, {"suffix": suffix}).scalars())

    def position(self, name: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(self.POSITION, {"name": name}).scalar() or 0)

    def head(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(self.HEAD).scalar_one())

    def status(self, name: str) -> ProjectionStatus | None:
        return next((s for s in self.statuses() if s.name == name), None)

    def lock_position(self, conn: Connection, name: str) -> int:
        """The position, row-locked for the batch transaction of ``conn``."""
        return int(conn.execute(self.LOCK_POSITION, {"name": name}).scalar_one())

    def advance(self, conn: Connection, name: str, position: int, state: str = "running") -> None:
        """Move the position (and clear any failure) in the batch transaction of ``conn``."""
        conn.execute(
            self.ADVANCE,
            {"name": name, "position": position, "state": state, "channel": POSITIONS_CHANNEL},
        )

    def mark_failed(self, name: str, error: str, failed_position: int | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                self.MARK_FAILED,
                {"name": name, "error": error, "failed_position": failed_position},
            )

    def statuses(self) -> list[ProjectionStatus]:
        with self.engine.connect() as conn:
            rows = conn.execute(self.STATUS).all()
        return [
            ProjectionStatus(
                r.name, r.position, r.head, r.state, r.error, r.failed_position, r.runner
            )
            for r in rows
        ]
