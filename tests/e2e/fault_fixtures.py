"""What the fault tests share: a private PostgreSQL they may stop, settings for it,
tokens for many users, and the load's bounds."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import timedelta

import psycopg

from pcem.cli.tokens import mint_token
from pcem.settings import Settings
from tests.conftest import settings_for
from tests.private_servers import PrivatePostgres

# The longest any request may take, whatever is down: the database wait
# (pcem.eventstore.config.DATABASE_WAIT_SECONDS, 3 s) twice over, and some slack
# for two shared cores. Anything longer is a hang.
BOUNDED_ANSWER_SECONDS = 10.0


def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        with psycopg.connect(server.url(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE pcem")
        yield server
    finally:
        server.close()


def settings_on(postgres: PrivatePostgres, redis_url: str) -> Settings:
    return settings_for(postgres.url("pcem"), redis_url)


def tokens_for(settings: Settings, users: int, prefix: str | None = None) -> dict[str, str]:
    """Tokens for ``users`` users of a run's own (``prefix``, else a random one):
    Redis remembers each user's last position for an hour, and a position from
    another run's database would never be reached in this one."""
    prefix = prefix or f"load-{secrets.token_hex(4)}"
    return {
        f"{prefix}-{n}": mint_token(settings.jwt, f"{prefix}-{n}", ttl=timedelta(hours=2))
        for n in range(users)
    }
