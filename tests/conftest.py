"""Shared fixtures: real servers, a fresh migrated database, the app and a projector."""

from __future__ import annotations

import base64
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import freezegun
import pytest
import uvicorn
from litestar.testing import TestClient

from pcem.api.app import create_app
from pcem.cli.tokens import mint_token
from pcem.migrate import migrate
from pcem.settings import Settings, load_settings
from pcem.wiring import Container, build_container
from tests.servers import PostgresServer, RedisServer, connections_allowed, rabbitmq_vhost


# Three workers took 151 connections at their peak on one PostgreSQL (the suite's slow
# tests mostly wait on clocks, so a third worker overlaps their waits: 12 minutes
# instead of 15); a server that allows fewer than 200 gets two.
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto`` (``make test``): as many workers as the database has room for; with
    no local server each worker starts an embedded one of its own."""
    allowed = connections_allowed()
    return 3 if allowed is None or allowed >= 200 else 2


JWT_SECRET = "test-secret-" + "x" * 32
# Every database of a run, and every process the tests start, seal events with this key.
MASTER_KEY = base64.b64encode(b"test master key, 32 bytes long!!").decode()

# The projector runs in a thread of the test process: a test's frozen clock must not
# reach psycopg's timeouts there (a deadline set in 2027 outlasted the session).
freezegun.configure(extend_ignore_list=["psycopg"])


def _real_time_once_unfrozen(
    check: Callable[[], bool] = freezegun.api._should_use_real_time,
) -> bool:
    """freezegun asks every caller of a patched clock whether it is ignored, reading the
    stack of active freezers while the test's thread may be popping it: the app's event
    loop thread then got an IndexError from its own clock, which stopped the loop and
    failed every later request of the session ("This portal is not running")."""
    try:
        return check()
    except IndexError:  # the last freezer stopped meanwhile: the time is real again
        return True


def _frozen_or_real_now(now: Callable[[], datetime] = freezegun.api.get_current_time) -> datetime:
    """The same race one step later: the freezer may be popped between the check above
    and the read of its time (or its zone offset); the time is real again by then."""
    try:
        return now()
    except IndexError:
        return freezegun.api.real_datetime.now(UTC).replace(tzinfo=None)


def _offset_once_unfrozen() -> timedelta:
    try:
        return freezegun.api.tz_offsets[-1]
    except IndexError:
        return timedelta(0)


freezegun.api._should_use_real_time = _real_time_once_unfrozen
freezegun.api.get_current_time = _frozen_or_real_now
freezegun.api.FakeDate._tz_offset = staticmethod(_offset_once_unfrozen)  # type: ignore[method-assign]
freezegun.api.FakeDatetime._tz_offset = staticmethod(_offset_once_unfrozen)  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    server = PostgresServer(tmp_path_factory.mktemp("postgres"))
    yield server
    server.close()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.close()


def settings_for(database_url: str, redis_url: str, **extra: str) -> Settings:
    return load_settings(
        {
            "PCEM_DATABASE_URL": database_url,
            "PCEM_REDIS_URL": redis_url,
            "PCEM_JWT_SECRET": JWT_SECRET,
            "PCEM_MASTER_KEY": MASTER_KEY,
            "PCEM_LOG_LEVEL": "WARNING",
            # Far above what any test sends in a minute; a test of the limits sets its own.
            "PCEM_RATE_LIMIT_PER_MINUTE": "1000000",
            "PCEM_RATE_LIMIT_ANON_PER_MINUTE": "1000000",
            "PCEM_RATE_LIMIT_FEED_PER_MINUTE": "1000000",
            **extra,
        }
    )


@pytest.fixture(scope="session")
def rabbitmq() -> Iterator[str]:
    """This run's own vhost on the local RabbitMQ (tests that need it run where it answers)."""
    with rabbitmq_vhost("amqp://guest:guest@127.0.0.1:5672") as url:
        yield url


@pytest.fixture(scope="session")
def settings(postgres: PostgresServer, redis_server: RedisServer) -> Iterator[Settings]:
    """Settings for this run's own fresh, migrated database."""
    with postgres.fresh_database() as url:
        settings = settings_for(url, redis_server.url)
        migrate(settings.require_database())
        yield settings


@pytest.fixture
def isolated(postgres: PostgresServer, redis_server: RedisServer) -> Iterator[Settings]:
    """A database of its own: no in-process projector competes for the lock here."""
    with postgres.fresh_database() as url:
        settings = settings_for(url, redis_server.url)
        migrate(settings.require_database())
        yield settings


@pytest.fixture(scope="session")
def container(settings: Settings) -> Iterator[Container]:
    container = build_container(settings)
    yield container
    container.close()


@pytest.fixture(scope="session")
def projector(container: Container) -> Iterator[None]:
    """The real projector, following the event store in this process."""
    with projector_running(container):
        yield


@pytest.fixture(scope="session")
def client(container: Container, projector: None) -> Iterator[TestClient[Any]]:
    app = create_app(container)
    app.on_shutdown.clear()  # the session's container outlives each client
    with TestClient(app) as test_client:
        yield test_client


TokenFactory = Callable[..., str]


@pytest.fixture(scope="session")
def token_for(settings: Settings) -> TokenFactory:
    def make(user_id: str, *roles: str, ttl: timedelta = timedelta(minutes=10)) -> str:
        return mint_token(settings.jwt, user_id, roles=roles, ttl=ttl)

    return make


@pytest.fixture
def user_id() -> str:
    """A user of one's own: tests share the database, never a user."""
    return f"user-{uuid.uuid4()}"


@pytest.fixture
def auth(user_id: str, token_for: TokenFactory) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(user_id)}"}


@pytest.fixture(scope="session")
def live_url(container: Container, projector: None) -> Iterator[str]:
    """The app served by uvicorn on a loopback port: real HTTP, real concurrency."""
    with serving(container) as url:
        yield url


@contextmanager
def serving(container: Container, extra_routes: Sequence[Any] = ()) -> Iterator[str]:
    app = create_app(container, extra_routes=extra_routes)
    app.on_shutdown.clear()  # the container outlives the server
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def projector_running(container: Container) -> Iterator[None]:
    stop = threading.Event()
    thread = threading.Thread(target=container.run_projector, args=(stop,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)
