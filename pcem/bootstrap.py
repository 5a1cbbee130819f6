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
from pcem.commands.people import PeopleApplication
from pcem.eventstore.config import eventsourcing_env
from pcem.projections.locks import application_name
from pcem.projections.people_view import PeopleView
from pcem.projections.relationships_view import RelationshipsView
from pcem.projections.tracking import ProjectionTracking
from pcem.settings import Settings
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
    support_history: SupportHistory

    def close(self) -> None:
        self.people.close()
        self.engine.dispose()
        self.redis.close()


def build_container(settings: Settings, *, pool_size: int = 10, role: str = "api") -> Container:
    """``role`` names this process's connections in ``pg_stat_activity``."""
    database = settings.require_database()
    engine = create_engine(
        database.sqlalchemy_url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={"application_name": application_name(role)},
    )
    client = redis.Redis.from_url(
        settings.require_redis().url, socket_timeout=2, socket_connect_timeout=2
    )
    tracking = ProjectionTracking(engine)
    people = PeopleApplication(env=eventsourcing_env(database, pool_size=pool_size))
    return Container(
        settings=settings,
        engine=engine,
        redis=client,
        people=people,
        tracking=tracking,
        people_view=PeopleView(engine),
        verifier=TokenVerifier(settings.jwt),
        read_your_writes=ReadYourWrites(client, tracking),
        idempotency=Idempotency(engine, client),
        relationships_view=RelationshipsView(engine),
        support_history=SupportHistory(people, SupportAccessLog(engine)),
    )
