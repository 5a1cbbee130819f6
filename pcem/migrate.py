"""`pcem migrate`: apply every migration in ``migrations/`` (idempotent).

Several runs may start at once (containers of one deploy). A session advisory
lock, held on a connection of its own for the whole run, makes them take turns:
each later run finds the schema at head and does nothing. Every table, the event
store's included, is created by the migrations (eventsourcing runs with
CREATE_TABLE=no), so the lock covers all of it.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config

from pcem.database.connections import application_name
from pcem.settings import DatabaseSettings

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Taken by nothing else: (hashtext('pcem.migrate'), 0) would do as well, a constant reads better.
MIGRATE_LOCK = 7262001


def alembic_config(database: DatabaseSettings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation treats % specially (URL-encoded passwords).
    config.set_main_option("sqlalchemy.url", database.sqlalchemy_url.replace("%", "%%"))
    return config


def migrate(database: DatabaseSettings) -> None:
    with psycopg.connect(
        database.url, autocommit=True, application_name=application_name("migrate")
    ) as lock:
        # Released when this connection closes, even if the run dies half-way.
        lock.execute("SELECT pg_advisory_lock(%s)", (MIGRATE_LOCK,))
        command.upgrade(alembic_config(database), "head")
