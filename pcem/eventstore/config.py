"""The eventsourcing environment for PCEM's single event store on PostgreSQL."""

from __future__ import annotations

from base64 import b64encode

from psycopg.conninfo import conninfo_to_dict

from pcem.settings import DatabaseSettings

# All PCEM applications share one event store, so one global position orders
# every event (the PCEM-Position of API.md). The library derives table names
# from the application name: this gives ``pcem_events``.
EVENT_STORE_NAME = "pcem"

# The longest a request waits for PostgreSQL: for a pooled connection, and for
# retries while the server is unreachable. Then it answers 503 (docs/reliability.md).
DATABASE_WAIT_SECONDS = 3


SEALING_MAPPER = "pcem.eventstore.sealing:SealingMapper"


def eventsourcing_env(
    database: DatabaseSettings,
    master_key: bytes,
    *,
    pool_size: int = 5,
    max_overflow: int | None = None,
    connection_name: str = "",
) -> dict[str, str]:
    """Translate a PostgreSQL URL and the master key into the variables eventsourcing
    reads (every PCEM event store seals its events: docs/privacy.md)."""
    params = conninfo_to_dict(database.url)
    return {
        "PERSISTENCE_MODULE": "pcem.eventstore.factory:PcemPostgresFactory",
        "POSTGRES_DBNAME": str(params.get("dbname", "")),
        "POSTGRES_HOST": str(params.get("host", "127.0.0.1")),
        "POSTGRES_PORT": str(params.get("port", "5432")),
        "POSTGRES_USER": str(params.get("user", "postgres")),
        "POSTGRES_PASSWORD": str(params.get("password", "")),
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(pool_size if max_overflow is None else max_overflow),
        "POSTGRES_CONNECT_TIMEOUT": str(DATABASE_WAIT_SECONDS),  # the pool's wait
        # `pcem migrate` owns every table, the event store's included.
        "CREATE_TABLE": "no",
        "PCEM_CONNECTION_NAME": connection_name,
        "MAPPER_TOPIC": SEALING_MAPPER,
        "PCEM_MASTER_KEY": b64encode(master_key).decode(),
    }
