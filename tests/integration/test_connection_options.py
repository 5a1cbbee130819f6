"""Every kind of connection PCEM opens asks PostgreSQL to notice within ~15 s that its
client is gone (a host cut off), so the session's locks do not outlive it by the
kernel's two hours (docs/scaling.md; the multi-host test shows why)."""

from __future__ import annotations

from typing import Any, cast

import psycopg
from eventsourcing.postgres import PostgresRecorder
from sqlalchemy import text

from pcem.projector.locks import holding
from pcem.settings import Settings
from pcem.wiring import Container, Serving
from tests.integration.api_helpers import served

# The settings, where they came from, and whether the session is over TCP (on a Unix
# socket PostgreSQL keeps the asked-for values but has no keepalives to apply them to).
ASKED = (
    "SELECT inet_client_addr() IS NOT NULL, array_agg(name || '=' || setting || ' ' || source"
    " ORDER BY name) FROM pg_settings WHERE name IN ('tcp_keepalives_idle',"
    " 'tcp_keepalives_interval', 'tcp_keepalives_count', 'tcp_user_timeout')"
)
WANTED = ["tcp_keepalives_count=5", "tcp_keepalives_idle=5", "tcp_keepalives_interval=2"]
WANTED += ["tcp_user_timeout=15000"]


def _asked_for(row: Any) -> None:
    over_tcp, settings = row
    names_and_sources = [(s.split("=")[0], s.rsplit(" ", 1)[1]) for s in settings]
    assert all(source == "client" for _, source in names_and_sources), settings
    if over_tcp:
        assert [s.split(" ")[0] for s in settings] == WANTED


def test_the_engine_asks_for_keepalives(container: Container) -> None:
    with container.engine.connect() as conn:
        _asked_for(conn.execute(text(ASKED)).one())


def test_the_apis_pool_asks_for_keepalives(container: Container) -> None:
    async def read(serving: Serving) -> list[tuple[Any, ...]]:
        return await serving.people_view.reads.as_owner(ASKED, ())

    [row] = served(container, read)
    _asked_for(row)


def test_the_event_stores_connections_ask_for_keepalives(container: Container) -> None:
    recorder = cast(PostgresRecorder, container.people.recorder)
    with recorder.datastore.get_connection() as conn:
        row = conn.execute(ASKED).fetchone()  # eventsourcing's connections answer dicts
        assert row is not None
        _asked_for(tuple(row.values()))


def test_a_projections_lock_connection_asks_for_keepalives(settings: Settings) -> None:
    with holding(settings.require_database().url, "a-test-projection", "test") as conn:
        assert conn is not None
        _asked_for(conn.execute(ASKED).fetchone())


def test_a_connection_without_the_options_does_not_have_them(settings: Settings) -> None:
    """The check above can fail: a plain connection's settings are the server's."""
    with psycopg.connect(settings.require_database().url) as conn:
        _, found = conn.execute(ASKED).fetchone() or (None, [])
    assert not any(s.endswith(" client") for s in found), found
