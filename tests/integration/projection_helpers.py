"""Driving projections against a database of their own (the `isolated` fixture)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, text

from pcem.aggregates.person import Person
from pcem.commands.people import PeopleApplication
from pcem.eventstore.config import eventsourcing_env
from pcem.projections.base import Projection
from pcem.projector.runner import ProjectionRunner
from pcem.settings import Settings
from tests.conftest import MASTER_KEY


class Database:
    """The isolated database, its event store and a few questions about it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine: Engine = create_engine(settings.require_database().sqlalchemy_url)
        self.app = PeopleApplication(
            env=eventsourcing_env(settings.require_database(), settings.require_master_key())
        )

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def row(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).one()

    def execute(self, sql: str, **params: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(sql), params)

    def head(self) -> int:
        return int(self.scalar("SELECT coalesce(max(notification_id), 0) FROM pcem_events"))

    def tracking(self, name: str) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(
                text("SELECT * FROM projection_tracking WHERE name = :name"), {"name": name}
            ).first()

    def position(self, name: str) -> int:
        row = self.tracking(name)
        return int(row.position) if row else 0

    def create_person(self, first_name: str, user_id: str = "u1") -> int:
        """Save one person; returns the position of their event."""
        person = Person.create(user_id=user_id, actor=user_id, first_name=first_name)
        recordings = self.app.save(person)
        return int(recordings[-1].notification.id)

    def write_people(self, user_id: str, count: int, batch: int = 50) -> None:
        for start in range(0, count, batch):
            people = [
                Person.create(user_id=user_id, actor=user_id, first_name=f"P{start + i}")
                for i in range(min(batch, count - start))
            ]
            self.app.save(*people)

    def write_history(self, user_id: str, people: int) -> None:
        """People with the whole range of events: updates, relationships, delete, restore."""
        previous = None
        for i in range(people):
            person = self.app.create_person(
                user_id, first_name=f"F{i}", last_name="L", primary_contact=None, metadata={"i": i}
            ).aggregate
            self.app.update_person(
                user_id, person.id, fields={"last_name": f"L{i}"}, metadata_patch={"k": [i]}
            )
            if previous is not None:
                _, relationship = self.app.add_relationship(
                    user_id, person.id, target_id=previous, type="friend"
                )
                if i % 3 == 0:
                    self.app.remove_relationship(user_id, person.id, relationship)
            if i % 5 == 0:
                self.app.delete_person(user_id, person.id)
            if i % 10 == 0:
                self.app.restore_person(user_id, person.id)
            previous = person.id if i % 5 != 0 or i % 10 == 0 else previous

    def checksums(self, *tables: str) -> dict[str, str]:
        return {
            t: self.scalar(
                f"SELECT md5(coalesce(string_agg(md5(r::text), '' ORDER BY md5(r::text)), ''))"
                f" FROM {t} r"
            )
            for t in tables
        }

    def schemas(self) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.execute(text("SELECT nspname FROM pg_namespace")).scalars())

    def close(self) -> None:
        self.app.close()
        self.engine.dispose()


@contextmanager
def running(db: Database, *projections: Projection, **options: Any) -> Iterator[None]:
    """Runner threads for ``projections``, as `pcem projector` runs them, quick to retry."""
    stop = threading.Event()
    options = {"idle_wait": 0.05, "retry_wait": 0.05, **options}
    runners = [
        ProjectionRunner(
            projection=p,
            engine=db.engine,
            app=db.app,
            listen_dsn=db.settings.require_database().url,
            **options,
        )
        for p in projections
    ]
    threads = [threading.Thread(target=r.run, args=(stop,), daemon=True) for r in runners]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)


def pcem_env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("PCEM_")},
        "PCEM_DATABASE_URL": settings.require_database().url,
        "PCEM_REDIS_URL": settings.require_redis().url,
        "PCEM_JWT_SECRET": settings.jwt.secret or "",
        "PCEM_MASTER_KEY": MASTER_KEY,
        "PCEM_LOG_LEVEL": "WARNING",
        # The settings' limits (tests.conftest: far above what a test sends), not the
        # defaults: a load test on a fast machine would otherwise meet 429s.
        "PCEM_RATE_LIMIT_PER_MINUTE": str(settings.rate_limits.per_user_per_minute),
        "PCEM_RATE_LIMIT_ANON_PER_MINUTE": str(settings.rate_limits.anonymous_per_minute),
        "PCEM_RATE_LIMIT_FEED_PER_MINUTE": str(settings.rate_limits.feed_per_minute),
        **extra,
    }


def start_pcem(
    settings: Settings, *args: str, env_extra: dict[str, str] | None = None,
    launcher: tuple[str, ...] = (), **popen: Any,
) -> subprocess.Popen[str]:  # fmt: skip
    """``launcher`` prefixes the command (``ip netns exec NS``: another host)."""
    return subprocess.Popen(
        [*launcher, sys.executable, "-m", "pcem.cli.main", *args],
        env=pcem_env(settings, **(env_extra or {})),
        text=True,
        **popen,
    )
