"""One line, not a traceback, when a server PCEM needs cannot be used.

A command that fails because PostgreSQL, Redis or the broker does not answer
(or refuses it) says which variable names that server, where it is
(host:port, never the credentials) and why, then exits with status 3
(docs/configuration.md). Any other error keeps its traceback: it is a bug.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict

from pcem.database.connections import application_name
from pcem.settings import DatabaseSettings, RedisSettings, Settings

UNREACHABLE_EXIT_STATUS = 3


class CannotListen(Exception):
    """The API's address is taken or not ours to listen on."""

    def __init__(self, host: str, port: int, error: OSError) -> None:
        # create_server's own text repeats the address: the system's words suffice.
        reason = os.strerror(error.errno).lower() if error.errno else str(error)
        super().__init__(f"cannot listen on {host}:{port} (--host/--port): {reason}")


def listen_on(host: str, port: int) -> socket.socket:
    """The API's listening socket, or one clear line if the address cannot be had."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as error:
        raise CannotListen(host, port, error) from None


def check_postgres(database: DatabaseSettings, role: str) -> None:
    """Connect once: a server that is down or refuses us raises at once, explained."""
    psycopg.connect(
        database.url, connect_timeout=5, application_name=application_name(role)
    ).close()


def check_broker(redis: RedisSettings) -> None:
    """Connect once to the broker: Celery would otherwise retry in silence for ever."""
    from kombu.connection import Connection

    with Connection(redis.broker_url, connect_timeout=5) as connection:  # type: ignore[no-untyped-call]
        connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=5)


def unreachable_server(error: BaseException, settings: Settings) -> str | None:
    """The line that explains ``error``, if a server could not be used; else None."""
    import redis
    from kombu.exceptions import OperationalError as BrokerError

    for cause in _chain(error):
        if isinstance(cause, CannotListen):
            return str(cause)
        if _is_database_error(cause) and settings.database is not None:
            where = postgres_address(settings.database.url)
            reason = _postgres_reason(cause, settings.database.url)
            return f"cannot use PostgreSQL at {where} (PCEM_DATABASE_URL): {reason}"
        if isinstance(cause, redis.ConnectionError | redis.TimeoutError) and settings.redis:
            variable, url = _redis_variable(str(cause), settings)
            return f"cannot use Redis at {url_address(url)} ({variable}): {_first_line(cause)}"
        if isinstance(cause, BrokerError) and settings.redis is not None:
            where = url_address(settings.redis.broker_url)
            return f"cannot use the broker at {where} (PCEM_BROKER_URL): {_first_line(cause)}"
    return None


def postgres_address(url: str) -> str:
    params = conninfo_to_dict(url)
    return f"{params.get('host') or 'localhost'}:{params.get('port') or 5432}"


def url_address(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme in ("unix", "redis+socket"):
        return parts.path
    return f"{parts.hostname or 'localhost'}:{parts.port or _DEFAULT_PORTS.get(parts.scheme, '')}"


_DEFAULT_PORTS = {"redis": "6379", "rediss": "6379", "amqp": "5672", "amqps": "5671"}


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _is_database_error(error: BaseException) -> bool:
    from eventsourcing.persistence import OperationalError as EventStoreError
    from psycopg_pool import PoolTimeout
    from sqlalchemy.exc import OperationalError as SqlAlchemyError

    return isinstance(
        error, psycopg.OperationalError | PoolTimeout | SqlAlchemyError | EventStoreError
    )


def _postgres_reason(error: BaseException, url: str) -> str:
    """Why PostgreSQL could not be used: a pool's timeout hides it, so ask once more."""
    from psycopg_pool import PoolTimeout

    for cause in _chain(error):
        if isinstance(cause, psycopg.OperationalError) and not isinstance(cause, PoolTimeout):
            return _connection_reason(cause)
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.OperationalError as probe:
        return _connection_reason(probe)
    return _first_line(error)


def _connection_reason(error: psycopg.OperationalError) -> str:
    # 'connection failed: connection to server at "h", port 1 failed: Connection refused'
    return _first_line(error).rsplit(" failed: ", 1)[-1].strip()


def _redis_variable(message: str, settings: Settings) -> tuple[str, str]:
    assert settings.redis is not None
    broker = settings.redis.broker_url
    if broker != settings.redis.url and url_address(broker) in message:
        return "PCEM_BROKER_URL", broker
    return "PCEM_REDIS_URL", settings.redis.url


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
