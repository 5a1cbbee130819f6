"""Helpers shared by every `pcem` subcommand."""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import click

from pcem.settings import ConfigError, Settings, load_settings

if TYPE_CHECKING:  # the wiring imports everything: only once a command runs
    from pcem.wiring import Container

F = TypeVar("F", bound=Callable[..., Any])


def fails_cleanly(command: F) -> F:
    """Invalid configuration stops a command with one clear line and exit status 2; a
    server it cannot use (PostgreSQL, Redis, the broker, the API's port) with one
    line and exit status 3."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ConfigError as error:
            click.echo(f"pcem: configuration error: {error}", err=True)
            sys.exit(2)
        except Exception as error:
            from pcem.cli.unreachable import UNREACHABLE_EXIT_STATUS, unreachable_server

            line = unreachable_server(error, current_settings())
            if line is None:
                raise
            click.echo(f"pcem: {line}", err=True)
            sys.exit(UNREACHABLE_EXIT_STATUS)

    return wrapper  # type: ignore[return-value]


def current_settings() -> Settings:
    """From the environment, and for what it leaves unset, from the env file of a
    `pcem dev` running on ``PCEM_DATA_DIR`` (:mod:`pcem.cli.dev_env`)."""
    from pcem.cli.dev_env import env_file, with_env_file

    data_dir = load_settings(os.environ).data_dir
    return load_settings(with_env_file(os.environ, env_file(data_dir)))


def check_master_key(settings: Settings) -> None:
    """A missing PCEM_MASTER_KEY, or one that is not the database's, stops the command
    with one line and exit status 2 (a ``ConfigError``): never events in clear, never
    every event read as erased."""
    import psycopg

    from pcem.database.connections import application_name
    from pcem.eventstore.master_check import check_master_key as check

    key = settings.require_master_key()
    database = settings.require_database()
    with psycopg.connect(
        database.url, autocommit=True, connect_timeout=5, application_name=application_name("cli")
    ) as conn:
        check(conn, key)


def stop_on_signals() -> threading.Event:
    """An event set by SIGINT or SIGTERM, for processes that shut down gracefully."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop


@contextmanager
def wired(role: str, *, pool_size: int = 2, reads_events: bool = False) -> Iterator[Container]:
    """The parts a command needs, from the environment, closed when it is done
    (``reads_events``: after checking the master key)."""
    from pcem.wiring import build_container

    settings = current_settings()
    if reads_events:
        check_master_key(settings)
    container = build_container(settings, role=role, pool_size=pool_size)
    try:
        yield container
    finally:
        container.close()
