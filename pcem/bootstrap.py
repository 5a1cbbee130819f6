"""Builds PCEM's long-lived objects from settings; every one can be overridden.

Nothing here runs at import time: connections open when ``build_container`` is
called by a process entry point (or a test).
"""

from __future__ import annotations

from dataclasses import dataclass

import redis
from sqlalchemy import Engine, create_engine

from pcem.api.auth import TokenVerifier
from pcem.api.consistency import ReadYourWrites
from pcem.api.idempotency import Idempotency
from pcem.commands.calendar import CalendarApplication
from pcem.commands.people import PeopleApplication
from pcem.commands.settings import SettingsApplication
from pcem.eventstore.config import eventsourcing_env
from pcem.projections.calendar_view import CalendarView
from pcem.projections.locks import application_name
from pcem.projections.people_view import PeopleView
from pcem.projections.relationships_view import RelationshipsView
from pcem.projections.tracking import ProjectionTracking
from pcem.settings import DatabaseSettings, Settings
from pcem.support.access_log import SupportAccessLog
from pcem.support.history import SupportHistory


@dataclass
class Container:
    settings: Settings
    engine: Engine
    redis: redis.Redis[bytes]
    people: PeopleApplication
    tracking: ProjectionTracking
    people_view: PeopleView
    verifier: TokenVerifier
    read_your_writes: ReadYourWrites
    idempotency: Idempotency
    relationships_view: RelationshipsView
    calendar: CalendarApplication
    calendar_view: CalendarView
    settings_app: SettingsApplication
    support_history: SupportHistory

    def close(self) -> None:
        for application in (self.people, self.calendar, self.settings_app):
            application.close()
        self.engine.dispose()
        self.redis.close()


def database_engine(database: DatabaseSettings, *, role: str, pool_size: int) -> Engine:
    """PCEM's SQLAlchemy engine (read models, projections, idempotency records);
    ``role`` names its connections in ``pg_stat_activity``."""
    return create_engine(
        database.sqlalchemy_url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={
            "application_name": application_name(role),
            # Sessions in UTC whatever the server's default: psycopg then answers
            # datetime.timezone.utc, not a ZoneInfo it converts every timestamp to
            # (0.3 ms for the 450 rows of a 366-day upcoming query).
            "options": "-c timezone=UTC",
        },
    )


def build_container(settings: Settings, *, pool_size: int = 10, role: str = "api") -> Container:
    """``role`` names this process's connections in ``pg_stat_activity``."""
    database = settings.require_database()
    engine = database_engine(database, role=role, pool_size=pool_size)
    client = redis.Redis.from_url(
        settings.require_redis().url, socket_timeout=2, socket_connect_timeout=2
    )
    # Queries of the read models: each statement sees its own snapshot anyway (READ
    # COMMITTED), and without a transaction psycopg sends no BEGIN and no ROLLBACK:
    # two round trips fewer per request (0.35 ms on the development machine).
    reads = engine.execution_options(isolation_level="AUTOCOMMIT")
    tracking = ProjectionTracking(engine)
    # Three applications share one event store; each keeps a small pool of its own.
    event_store = eventsourcing_env(database, pool_size=max(pool_size // 3, 2))
    people = PeopleApplication(env=event_store)
    return Container(
        settings=settings,
        engine=engine,
        redis=client,
        people=people,
        tracking=tracking,
        people_view=PeopleView(reads),
        verifier=TokenVerifier(settings.jwt),
        read_your_writes=ReadYourWrites(client, tracking),
        idempotency=Idempotency(engine, client),
        relationships_view=RelationshipsView(reads),
        calendar=CalendarApplication(env=event_store),
        calendar_view=CalendarView(reads),
        settings_app=SettingsApplication(env=event_store),
        support_history=SupportHistory(people, SupportAccessLog(engine)),
    )
