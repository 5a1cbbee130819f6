"""The PostgreSQL and Redis servers tests run against.

The machine's own servers (127.0.0.1:5432, 127.0.0.1:6379) when they answer,
else the embedded ones `pcem dev` uses. Each test run gets fresh databases.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis
from psycopg import sql

from pcem.embedded import EmbeddedPostgres, EmbeddedRedis, start_postgres, start_redis

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS = "redis://127.0.0.1:6379/{db}"
# Another number lets two checkouts run their suites at once; each pytest-xdist
# worker takes two databases of its own above it: read-your-writes, then the broker
# (three workers: six, so at most 10 of Redis's 16; the default 9 uses 9-14).
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
TEST_REDIS_DB = int(os.environ.get("PCEM_TEST_REDIS_DB", "9")) + 2 * _WORKER
TEST_BROKER_DB = TEST_REDIS_DB + 1


class PostgresServer:
    def __init__(self, scratch: Path) -> None:
        self.embedded: EmbeddedPostgres | None = None
        if _answers_postgres(LOCAL_POSTGRES):
            self.admin_url = LOCAL_POSTGRES
        else:
            self.embedded = start_postgres(scratch / "embedded")
            self.admin_url = self.embedded.url("postgres")

    def url_for(self, database: str) -> str:
        if self.embedded is not None:
            return self.embedded.url(database)
        return LOCAL_POSTGRES.rsplit("/", 1)[0] + f"/{database}"

    @contextmanager
    def fresh_database(self) -> Iterator[str]:
        name = f"pcem_test_{secrets.token_hex(6)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield self.url_for(name)
        finally:
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))

    def close(self) -> None:
        if self.embedded is not None:
            self.embedded.close()


class RedisServer:
    def __init__(self, scratch: Path) -> None:
        self.embedded: EmbeddedRedis | None = None
        url = LOCAL_REDIS.format(db=TEST_REDIS_DB)
        if _answers_redis(url):
            self.url = url
        else:
            self.embedded = start_redis(scratch / "embedded-redis")
            self.url = self.embedded.url
        redis.Redis.from_url(self.url).flushdb()
        self.broker_url = with_db(self.url, TEST_BROKER_DB)
        redis.Redis.from_url(self.broker_url).flushdb()  # no task left by an earlier run

    def close(self) -> None:
        if self.embedded is not None:
            self.embedded.close()


def with_db(redis_url: str, db: int) -> str:
    """The same Redis server, another database (TCP and unix-socket URLs alike)."""
    parts = urlsplit(redis_url)
    if parts.scheme == "unix":
        return urlunsplit(parts._replace(query=f"db={db}"))
    return urlunsplit(parts._replace(path=f"/{db}"))


@contextmanager
def rabbitmq_vhost(base_url: str) -> Iterator[str]:
    """A private vhost for this run, so that two runs on one machine never take each
    other's tasks; the shared vhost '/' where rabbitmqctl cannot make one."""
    vhost = f"pcem_test_{secrets.token_hex(4)}"
    user = urlsplit(base_url).username or "guest"
    try:
        _rabbitmqctl("add_vhost", vhost)
        _rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
    except (OSError, subprocess.SubprocessError):
        yield f"{base_url}//"
        return
    try:
        yield f"{base_url}/{vhost}"
    finally:
        with suppress(OSError, subprocess.SubprocessError):
            _rabbitmqctl("delete_vhost", vhost)


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, timeout=60, capture_output=True)


def connections_allowed() -> int | None:
    """The local PostgreSQL's ``max_connections``, which every test worker shares; None
    when there is none (each worker then starts an embedded server of its own)."""
    try:
        with psycopg.connect(LOCAL_POSTGRES, connect_timeout=2) as conn:
            row = conn.execute("SHOW max_connections").fetchone()
    except psycopg.OperationalError:
        return None
    return int(row[0]) if row else None


def _answers_postgres(url: str) -> bool:
    try:
        psycopg.connect(url, connect_timeout=2).close()
    except psycopg.OperationalError:
        return False
    return True


def _answers_redis(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False
