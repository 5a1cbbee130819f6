"""eventsourcing's PostgreSQL factory, with the connection settings PCEM needs."""

from __future__ import annotations

from eventsourcing.postgres import PostgresFactory
from eventsourcing.utils import Environment

from pcem.eventstore.recorder import PcemApplicationRecorder


class PcemPostgresFactory(PostgresFactory):
    CONNECTION_NAME = "PCEM_CONNECTION_NAME"
    application_recorder_class = PcemApplicationRecorder

    def __init__(self, env: Environment) -> None:
        super().__init__(env)
        connection_kwargs = self.datastore.pool.kwargs  # the pool opens on first use
        if not isinstance(connection_kwargs, dict):  # eventsourcing passes a dict
            raise TypeError(f"unexpected connection kwargs: {type(connection_kwargs)}")
        # No server-side prepared statements on the event store's connections. psycopg
        # 3.3.9 records a statement as prepared the moment it asks for it; when an
        # earlier statement of the same pipeline fails (a raced Idempotency-Key), the
        # server skips the PREPARE, and since eventsourcing then commits rather than
        # rolls back, the cache never heals: every later insert on that pooled
        # connection failed with 'prepared statement "_pg3_N" does not exist'.
        # Costs ~10 % on an insert (docs/architecture.md).
        connection_kwargs["prepare_threshold"] = None
        # Named in pg_stat_activity like every other connection of the process.
        if name := self.env.get(self.CONNECTION_NAME):
            connection_kwargs["application_name"] = name
