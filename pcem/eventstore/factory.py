"""eventsourcing's PostgreSQL factory, with the connection settings PCEM needs and the
mapper that seals events with their subjects' keys."""

from __future__ import annotations

from base64 import b64decode
from functools import cached_property
from typing import Any

from eventsourcing.persistence import EventStore, Mapper, Transcoder
from eventsourcing.postgres import PostgresFactory
from eventsourcing.utils import Environment, resolve_topic

from pcem.database.connections import DEAD_CLIENT_OPTIONS
from pcem.eventstore.keyring import KeyRing, MasterKey
from pcem.eventstore.recorder import PcemApplicationRecorder
from pcem.eventstore.sealing import SealingEventStore, SealingMapper
from pcem.settings import ConfigError


class PcemPostgresFactory(PostgresFactory):
    CONNECTION_NAME = "PCEM_CONNECTION_NAME"
    MASTER_KEY = "PCEM_MASTER_KEY"
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
        # An insert holds the store's table lock: a host cut off mid-insert must not
        # hold up every other host's writes for long.
        connection_kwargs["options"] = DEAD_CLIENT_OPTIONS
        # Named in pg_stat_activity like every other connection of the process.
        if name := self.env.get(self.CONNECTION_NAME):
            connection_kwargs["application_name"] = name

    def mapper(
        self,
        transcoder: Transcoder | None = None,
        mapper_class: type[Mapper[Any]] | None = None,
    ) -> Mapper[Any]:
        """The sealing mapper, unless MAPPER_TOPIC names another (only the encryption
        benchmark does, to measure the cost against clear events)."""
        if mapper_class is None:
            topic = self.env.get(self.MAPPER_TOPIC)
            mapper_class = resolve_topic(topic) if topic else SealingMapper
        if isinstance(mapper_class, type) and issubclass(mapper_class, SealingMapper):
            return mapper_class(transcoder or self.transcoder(), keys=self.key_ring)
        return super().mapper(transcoder, mapper_class)

    def event_store(
        self, mapper: Mapper[Any] | None = None, recorder: Any = None
    ) -> EventStore[Any]:
        mapper = mapper or self.mapper()
        recorder = recorder or self.application_recorder()
        if isinstance(mapper, SealingMapper):
            return SealingEventStore(mapper=mapper, recorder=recorder)
        return EventStore(mapper=mapper, recorder=recorder)

    @cached_property
    def key_ring(self) -> KeyRing:
        encoded = self.env.get(self.MASTER_KEY)
        if not encoded:
            raise ConfigError("PCEM_MASTER_KEY is not set: the event store cannot be opened")
        return KeyRing(MasterKey(b64decode(encoded)), self.datastore.get_connection)
