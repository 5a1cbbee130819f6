"""Alembic environment: the URL comes from `pcem migrate`, never from alembic.ini."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

url = context.config.get_main_option("sqlalchemy.url")
if not url:
    raise RuntimeError("run migrations with `pcem migrate`, which supplies the database URL")

engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, transaction_per_migration=True)
    # Concurrent runs take turns on a session lock held by `pcem migrate` (pcem/migrate.py).
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
