"""What every PCEM application shares: the event store, user scoping, versions."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, Transcoder

from pcem.aggregates.ownership import OwnedAggregate, OwnedEvent
from pcem.eventstore.config import EVENT_STORE_NAME
from pcem.eventstore.recorder import IdempotencyRecord
from pcem.eventstore.transcoder import UserJSONSafeTranscoder

A = TypeVar("A", bound=OwnedAggregate)

MAX_ATTEMPTS = 20
IDEMPOTENCY_CONSTRAINT = "idempotency_keys_pkey"


@dataclass(frozen=True)
class Written(Generic[A]):
    """An aggregate as saved, and the global position of its last new event (0: none)."""

    aggregate: A
    position: int


@dataclass(frozen=True)
class IdempotencyKey:
    """A client's ``Idempotency-Key`` and the hash of the request it came with."""

    user_id: str
    key: str
    request_hash: str

    def record(self, aggregate: OwnedAggregate, result_id: UUID) -> IdempotencyRecord:
        return IdempotencyRecord(
            self.user_id, self.key, self.request_hash, aggregate.id, aggregate.version, result_id
        )


class PcemApplication(Application[UUID]):
    name = EVENT_STORE_NAME

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.name = EVENT_STORE_NAME  # every context writes to the one event store

    def construct_transcoder(self) -> Transcoder:
        transcoder = UserJSONSafeTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def save_all(
        self, aggregates: Sequence[OwnedAggregate], idempotency: IdempotencyRecord | None = None
    ) -> int:
        """Save every aggregate's new events in one transaction; the last position written."""
        try:
            recordings = self.save(*aggregates, idempotency=idempotency)
        except IntegrityError as error:
            if IDEMPOTENCY_CONSTRAINT in str(error):
                raise IdempotencyKeyTakenError() from None
            raise
        return max((r.notification.id or 0 for r in recordings), default=0)

    def save_owned(self, aggregate: A, idempotency: IdempotencyRecord | None = None) -> Written[A]:
        return Written(aggregate, self.save_all([aggregate], idempotency))

    def get_owned(self, user_id: str, aggregate_id: UUID, kind: type[A]) -> A:
        """The one place a write loads an aggregate: another user's is not found."""
        try:
            aggregate: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFoundError(kind.__name__, aggregate_id) from None
        if not isinstance(aggregate, kind) or not aggregate.is_owned_by(user_id):
            raise NotFoundError(kind.__name__, aggregate_id)
        return aggregate

    def change(
        self,
        user_id: str,
        aggregate_id: UUID,
        kind: type[A],
        command: Callable[[A], None],
        *,
        expected_version: int | None = None,
        idempotency: IdempotencyKey | None = None,
        result_id: UUID | None = None,
    ) -> Written[A]:
        """Load one aggregate, apply ``command``, save (see ``transact``)."""

        def unit() -> tuple[A, list[OwnedAggregate]]:
            aggregate = self.get_owned(user_id, aggregate_id, kind)
            check_version(aggregate, expected_version)
            command(aggregate)
            return aggregate, [aggregate]

        return self.transact(
            unit,
            conditional=expected_version is not None,
            idempotency=idempotency,
            result_id=result_id,
        )

    def transact(
        self,
        unit: Callable[[], tuple[A, list[OwnedAggregate]]],
        *,
        conditional: bool = False,
        idempotency: IdempotencyKey | None = None,
        result_id: UUID | None = None,
    ) -> Written[A]:
        """Run ``unit`` (load aggregates, apply commands) and save everything it changed
        in one transaction. A concurrent writer's conflict is a 412 when the caller
        named a version (``conditional``), and otherwise a retry of the whole unit on
        fresh state, so no concurrent change is ever lost."""
        for attempt in range(MAX_ATTEMPTS):
            main, changed = unit()
            record = idempotency.record(main, result_id or main.id) if idempotency else None
            try:
                return Written(main, self.save_all(changed, record))
            except IntegrityError:
                if conditional:
                    raise VersionMismatchError() from None
                time.sleep(random.uniform(0, 0.002 * (attempt + 1)))  # noqa: S311 (jitter)
        raise ConcurrentWritesError()

    def history(self, user_id: str, aggregate_id: UUID, kind: type[A]) -> list[OwnedEvent]:
        """Every event of one of the user's aggregates, oldest first (deleted ones too)."""
        self.get_owned(user_id, aggregate_id, kind)
        return cast(list[OwnedEvent], list(self.repository.event_store.get(aggregate_id)))

    def history_for_support(self, aggregate_id: UUID) -> list[OwnedEvent]:
        """Every event of ANY user's aggregate, oldest first: deliberately not scoped.

        Only for the support role, through ``pcem.support.history``, which records
        each call in the support access log; nothing else may call this.
        """
        return cast(list[OwnedEvent], list(self.repository.event_store.get(aggregate_id)))

    def at_version(self, user_id: str, aggregate_id: UUID, kind: type[A], version: int) -> A:
        current = self.get_owned(user_id, aggregate_id, kind)
        if not 1 <= version <= current.version:
            raise NotFoundError(f"{kind.__name__} version", aggregate_id)
        return cast(A, self.repository.get(aggregate_id, version=version))

    def as_of(self, user_id: str, aggregate_id: UUID, kind: type[A], moment: datetime) -> A:
        """The aggregate as it was at ``moment``; not found if it did not exist yet."""
        aggregate: A | None = None
        for domain_event in self.history(user_id, aggregate_id, kind):
            if domain_event.timestamp > moment:
                break
            aggregate = domain_event.mutate(aggregate)
        if aggregate is None:
            raise NotFoundError(kind.__name__, aggregate_id)
        return aggregate


def check_version(aggregate: OwnedAggregate, expected_version: int | None) -> None:
    if expected_version is not None and aggregate.version != expected_version:
        raise VersionMismatchError()


class NotFoundError(LookupError):
    def __init__(self, kind: str, aggregate_id: UUID | str) -> None:
        super().__init__(f"{kind} {aggregate_id} not found")
        self.kind = kind


class IdempotencyKeyTakenError(Exception):
    """Another request with the same Idempotency-Key committed first."""


class VersionMismatchError(Exception):
    def __init__(self) -> None:
        super().__init__("the resource is not at the version named by If-Match")


class ConcurrentWritesError(Exception):
    def __init__(self) -> None:
        super().__init__("the resource is changing too often to apply this change; retry")
