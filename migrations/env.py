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
    with context.begin_transaction():
        # Serialise concurrent `pcem migrate` runs (several containers starting at once).
        connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7262001)")
        context.run_migrations()
engine.dispose()
