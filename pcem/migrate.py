"""`pcem migrate`: apply every migration in ``migrations/`` (idempotent)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from pcem.settings import DatabaseSettings

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(database: DatabaseSettings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation treats % specially (URL-encoded passwords).
    config.set_main_option("sqlalchemy.url", database.sqlalchemy_url.replace("%", "%%"))
    return config


def migrate(database: DatabaseSettings) -> None:
    command.upgrade(alembic_config(database), "head")
