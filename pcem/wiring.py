"""The one place PCEM's long-lived parts are built from ``Settings``.

Every entry point (``pcem.api``, ``pcem.cli``, the projector and the
notification worker) takes what it needs from a ``Container``, and nothing
else builds engines, pools, clients or applications. Each part is built on
first use, so a CLI command connects to no more than it needs, and any part
can be overridden by assigning it before first use (tests, the worker).
Nothing connects at import time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import Any

import msgspec
import psycopg
import redis
import redis.asyncio
import urllib3
from psycopg.types.json import set_json_loads
from psycopg_pool import AsyncConnectionPool, ConnectionPool
from redis import Redis
from sqlalchemy import Engine, create_engine

from pcem.commands.calendar import CalendarApplication
from pcem.commands.idempotency import Idempotency
from pcem.commands.people import PeopleApplication
from pcem.commands.settings import SettingsApplication
from pcem.database.connections import SESSION_OPTIONS, application_name
from pcem.database.row_security import API_ROLE_OPTIONS, check_api_role
from pcem.erasure.accounts import AccountErasure
from pcem.erasure.effects import ErasureEffects
from pcem.erasure.follower import BehindRunner, ErasureFollower
from pcem.erasure.purge import Purges
from pcem.erasure.requests import AccountErasures
from pcem.eventstore.config import DATABASE_WAIT_SECONDS, eventsourcing_env
from pcem.eventstore.keys import SubjectKeys
from pcem.export.exports import Exports
from pcem.identity.calendar_feeds import CalendarFeeds
from pcem.identity.rate_limits import RateLimits
from pcem.identity.tokens import TokenVerifier
from pcem.imports.jobs import ImportJobs
from pcem.imports.run import ImportRun
from pcem.imports.view import ImportsView
from pcem.notifications.claims import Claims
from pcem.notifications.following import InAppFeed
from pcem.notifications.in_app import SentInApp
from pcem.notifications.inbox import FailedSet, Inbox, Overdue
from pcem.notifications.ledger import Ledger
from pcem.notifications.stats import DeliveryStats
from pcem.projections.calendar_feed_view import CalendarFeedView
from pcem.projections.calendar_view import CalendarView
from pcem.projections.people_view import PeopleView
from pcem.projections.relationships_view import RelationshipsView
from pcem.projector.supervisor import run_projector
from pcem.projector.tracking import ProjectionTracking
from pcem.settings import DatabaseSettings, Settings
from pcem.support.access_log import SupportAccessLog
from pcem.support.history import SupportHistory

_CLOSED_BY_CONTAINER = ("people", "calendar", "settings_app")


def database_engine(database: DatabaseSettings, *, role: str, pool_size: int) -> Engine:
    """PCEM's SQLAlchemy engine (read models, projections, idempotency records);
    ``role`` names its connections in ``pg_stat_activity``."""
    return create_engine(
        database.sqlalchemy_url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=DATABASE_WAIT_SECONDS,  # then 503, not a hanging request
        pool_pre_ping=True,
        connect_args={
            "application_name": application_name(role),
            "options": SESSION_OPTIONS,
        },
    )


@dataclass
class Serving:
    """What one API process needs on its event loop (built in its lifespan): among
    them every view that answers a user, as that user."""

    pool: AsyncConnectionPool
    redis: redis.asyncio.Redis[bytes]
    people_view: PeopleView
    relationships_view: RelationshipsView
    calendar_view: CalendarView
    inbox: Inbox
    in_app: InAppFeed
    rate_limits: RateLimits
    calendar_feeds: CalendarFeeds
    calendar_feed_view: CalendarFeedView
    imports: ImportsView
    exports: Exports


class Container:
    # The in-app stream (GET /notifications/stream): how often it reads the ledger
    # without a wake-up, and the longest it stays silent. Tests shorten them.
    stream_poll_seconds: float = 1.0
    stream_keepalive_seconds: float = 10.0  # API.md: a comment at least every 15 s
    # The clock rate-limit windows follow; tests pin it, so a window's count is theirs.
    rate_limit_clock: Callable[[], float] = staticmethod(time.time)

    def __init__(self, settings: Settings, *, role: str = "api", pool_size: int = 10) -> None:
        self.settings = settings
        self.role = role  # names this process's connections in pg_stat_activity
        self.pool_size = pool_size
        self.read_wait_seconds = 5.0  # read-your-writes: the longest a query waits (API.md)

    # Connections

    @cached_property
    def database(self) -> DatabaseSettings:
        return self.settings.require_database()

    @cached_property
    def engine(self) -> Engine:
        return database_engine(self.database, role=self.role, pool_size=self.pool_size)

    @cached_property
    def reads(self) -> Engine:
        # Queries of the read models: each statement sees its own snapshot anyway (READ
        # COMMITTED), and without a transaction psycopg sends no BEGIN and no ROLLBACK.
        return self.engine.execution_options(isolation_level="AUTOCOMMIT")

    @cached_property
    def redis(self) -> redis.Redis[bytes]:
        url = self.settings.require_redis().url
        return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    @cached_property
    def broker(self) -> Redis[bytes] | None:
        """A client for the Celery broker's lists; None when the broker is not Redis."""
        url = self.settings.require_redis().broker_url
        if url.startswith("redis+socket://"):
            url = "unix://" + url.removeprefix("redis+socket://")
        if not url.startswith(("redis://", "rediss://", "unix://")):
            return None
        return Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    @cached_property
    def http(self) -> urllib3.PoolManager:
        """Outgoing HTTP (webhooks, the SMS API), shared by every user's deliveries:
        keep-alive connections per receiver's host; no retries (the ledger retries)
        and no cookies (``pcem.processors.providers.outgoing_http``)."""
        return urllib3.PoolManager(num_pools=64, maxsize=4, retries=False)

    @cached_property
    def event_store(self) -> dict[str, str]:
        # The applications share one event store; each keeps a small pool of its own,
        # which grows under load up to the process's pool size (8 concurrent creates
        # queued for 6 connections before: docs/performance.md).
        return eventsourcing_env(
            self.database,
            self.settings.require_master_key(),
            pool_size=max(self.pool_size // 3, 2),
            max_overflow=self.pool_size,
            connection_name=application_name(self.role),
        )

    # The write side

    @cached_property
    def people(self) -> PeopleApplication:
        return PeopleApplication(env=self.event_store)

    @cached_property
    def calendar(self) -> CalendarApplication:
        return CalendarApplication(env=self.event_store)

    @cached_property
    def settings_app(self) -> SettingsApplication:
        app = SettingsApplication(env=self.event_store)
        app.generation_of = self.account_erasures.generation
        return app

    @cached_property
    def subject_keys(self) -> SubjectKeys:
        """The subjects' data keys: destroying them is an erasure."""
        return SubjectKeys(self.engine)

    # Erasure: purges, account erasures, and what acts on their tombstones

    @cached_property
    def erasure_effects(self) -> ErasureEffects:
        return ErasureEffects(self.engine, self.redis, self.subject_keys)

    @cached_property
    def purges(self) -> Purges:
        return Purges(self.people, self.erasure_effects)

    @cached_property
    def account_erasures(self) -> AccountErasures:
        lease = timedelta(seconds=self.settings.notifications.lease_seconds)
        return AccountErasures(self.engine, stalled_after=lease)

    @cached_property
    def account_erasure(self) -> AccountErasure:
        return AccountErasure(
            self.account_erasures, self.people, self.settings_app, self.purges, self.tracking
        )

    @cached_property
    def idempotency(self) -> Idempotency:
        return Idempotency(self.engine, self.redis)

    # Contact imports: their rows (the API submits, the worker runs them)

    @cached_property
    def imports(self) -> ImportJobs:
        lease = timedelta(seconds=self.settings.notifications.lease_seconds)
        return ImportJobs(self.engine, stalled_after=lease)

    @cached_property
    def import_run(self) -> ImportRun:
        return ImportRun(self.imports, self.people, self.calendar, self.account_erasures.generation)

    # The read side (the views that answer a user are on the API's event loop: Serving)

    @cached_property
    def tracking(self) -> ProjectionTracking:
        return ProjectionTracking(self.engine)

    # Notifications: the ledger (the process manager's state) and its operators' reads

    @cached_property
    def ledger(self) -> Ledger:
        lease = timedelta(seconds=self.settings.notifications.lease_seconds)
        return Ledger(self.engine, lease=lease)

    @cached_property
    def delivery_pool(self) -> ConnectionPool[psycopg.Connection[Any]]:
        """The delivery worker's connections for its claims and settles: psycopg
        directly, autocommit, no ping before each use (a broken connection is replaced
        when a statement finds it so: ``pcem.notifications.claims``)."""
        return ConnectionPool(
            self.database.url,
            min_size=1,
            max_size=self.pool_size,
            kwargs=_connection_options(f"{self.role} deliveries"),
            configure=_configure_connection,
            name="deliveries",
            open=True,
        )

    @cached_property
    def claims(self) -> Claims:
        lease = timedelta(seconds=self.settings.notifications.lease_seconds)
        return Claims(self.delivery_pool, lease=lease)

    @cached_property
    def failed_notifications(self) -> FailedSet:
        return FailedSet(self.reads)

    @cached_property
    def overdue(self) -> Overdue:
        return Overdue(self.reads)

    @cached_property
    def delivery_stats(self) -> DeliveryStats:
        return DeliveryStats(self.engine)

    # Identity and support

    @cached_property
    def verifier(self) -> TokenVerifier:
        return TokenVerifier(self.settings.jwt)

    @cached_property
    def support_history(self) -> SupportHistory:
        return SupportHistory(self.people, SupportAccessLog(self.engine))

    # Processes

    def run_projector(
        self, stop: threading.Event, started: Callable[[], None] = lambda: None
    ) -> None:
        follower = BehindRunner(
            projection=ErasureFollower(self.erasure_effects, self.people),
            engine=self.engine,
            app=self.people,
            listen_dsn=self.database.url,
        )
        run_projector(
            self.engine, self.people, self.database.url, stop, followers=[follower], started=started
        )

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[Serving]:
        """The API's event-loop parts: open for as long as it serves."""
        pool = AsyncConnectionPool(
            self.database.url,
            min_size=2,
            max_size=self.pool_size,
            timeout=DATABASE_WAIT_SECONDS,  # while PostgreSQL is down: 503, not a hang
            open=False,
            kwargs=_connection_options(self.role, API_ROLE_OPTIONS),
            configure=_configure_api_connection,
        )
        client = redis.asyncio.Redis.from_url(
            self.settings.require_redis().url, socket_timeout=2, socket_connect_timeout=2
        )
        await pool.open()
        try:
            yield Serving(
                pool,
                client,
                PeopleView(pool),
                RelationshipsView(pool),
                CalendarView(pool),
                Inbox(pool),
                InAppFeed(
                    SentInApp(pool),
                    client,
                    poll_seconds=self.stream_poll_seconds,
                    keepalive_seconds=self.stream_keepalive_seconds,
                ),
                RateLimits(client, self.settings.rate_limits, self.rate_limit_clock),
                CalendarFeeds(pool),
                CalendarFeedView(pool),
                ImportsView(pool),
                # Histories decode as every read of the store does (the mapper, asked
                # for at the first export); downloads leave most connections to others.
                Exports(pool, lambda: self.people.mapper, at_once=max(1, self.pool_size // 3)),
            )
        finally:
            await pool.close()
            await client.aclose()  # type: ignore[attr-defined]  # (types-redis predates it)

    def close(self) -> None:
        for name in _CLOSED_BY_CONTAINER:
            if name in self.__dict__:
                self.__dict__[name].close()
        if "engine" in self.__dict__:
            self.engine.dispose()
        if "delivery_pool" in self.__dict__:
            self.delivery_pool.close()
        for client in ("redis", "broker"):
            if self.__dict__.get(client) is not None:
                self.__dict__[client].close()
        if "http" in self.__dict__:
            self.http.clear()


async def _configure_api_connection(conn: psycopg.AsyncConnection[Any]) -> None:
    # jsonb (a person's metadata) decoded by msgspec: a third of the stdlib's cost,
    # 8 % of a 50-person page (docs/performance.md).
    set_json_loads(msgspec.json.decode, conn)
    await check_api_role(conn)


def _configure_connection(conn: psycopg.Connection[Any]) -> None:
    set_json_loads(msgspec.json.decode, conn)


def _connection_options(role: str, *options: str) -> dict[str, Any]:
    return {
        "autocommit": True,
        "application_name": application_name(role),
        "options": " ".join((SESSION_OPTIONS, *options)),
    }


def build_container(
    settings: Settings, *, pool_size: int = 10, role: str = "api", **overrides: Any
) -> Container:
    """A container for ``settings``; ``overrides`` replace parts by name."""
    container = Container(settings, role=role, pool_size=pool_size)
    for name, part in overrides.items():
        if not hasattr(Container, name):
            raise TypeError(f"the container has no part named {name!r}")
        setattr(container, name, part)
    return container
