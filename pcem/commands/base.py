"""What every PCEM application shares: the event store, user scoping, versions,
and the retry that makes each use case safe against concurrent writers."""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, Generic, TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, Transcoder

from pcem.aggregates.erased import HistoryEvent
from pcem.aggregates.ownership import NotFoundError, OwnedAggregate, Tombstone
from pcem.commands.group_commit import GroupCommit
from pcem.commands.idempotency import current_key
from pcem.eventstore.config import EVENT_STORE_NAME
from pcem.eventstore.recorder import IdempotencyRecord
from pcem.eventstore.transcoder import UserJSONSafeTranscoder

A = TypeVar("A", bound=OwnedAggregate)
UseCase = TypeVar("UseCase", bound=Callable[..., Any])

MAX_ATTEMPTS = 20


@dataclass(frozen=True)
class Written(Generic[A]):
    """An aggregate as saved, and the global position of its last new event (0: none)."""

    aggregate: A
    position: int


def retried_on_conflict(use_case: UseCase) -> UseCase:
    """Run the whole use case again, on fresh state, when a concurrent writer saved
    the same aggregate first: no change is ever lost. A use case that names the
    version it expects fails on the fresh state with ``VersionMismatchError`` (412)."""

    @functools.wraps(use_case)
    def attempt(*args: Any, **kwargs: Any) -> Any:
        for number in range(MAX_ATTEMPTS):
            try:
                return use_case(*args, **kwargs)
            except IntegrityError:
                time.sleep(random.uniform(0, 0.002 * (number + 1)))  # noqa: S311 (jitter)
        raise ConcurrentWritesError()

    return cast(UseCase, attempt)


class PcemApplication(Application[UUID]):
    name = EVENT_STORE_NAME

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.name = EVENT_STORE_NAME  # every context writes to the one event store

    def construct_transcoder(self) -> Transcoder:
        transcoder = UserJSONSafeTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def saved(self, main: A, *others: OwnedAggregate, result_id: UUID | None = None) -> Written[A]:
        """Save the new events of ``main`` and ``others`` in one transaction, with the
        request's idempotency record if it has one (``result_id``: what the command
        made, if not ``main`` itself)."""
        key = current_key.get()
        records = [key.record(main.id, main.version, result_id or main.id)] if key else []
        aggregates: tuple[OwnedAggregate, ...] = (main, *others)
        events = [event for aggregate in aggregates for event in aggregate.collect_events()]
        return Written(main, self._commits.write(events, records))

    @cached_property
    def _commits(self) -> GroupCommit:
        return GroupCommit(self._put)

    def _put(self, events: Sequence[Any], records: Sequence[IdempotencyRecord]) -> list[int]:
        recordings = self.events.put(events, idempotency=records)
        return [r.notification.id or 0 for r in recordings]

    def get_owned(
        self,
        user_id: str,
        aggregate_id: UUID,
        kind: type[A],
        expected_version: int | None = None,
    ) -> A:
        """The one place a write loads an aggregate: another user's is not found, nor
        an erased one, and one not at ``expected_version`` (when given) is a version
        mismatch."""
        try:
            aggregate: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFoundError(kind.__name__, aggregate_id) from None
        if not isinstance(aggregate, kind) or not aggregate.is_owned_by(user_id):
            raise NotFoundError(kind.__name__, aggregate_id)
        if aggregate.is_erased:
            raise NotFoundError(kind.__name__, aggregate_id)
        if expected_version is not None and aggregate.version != expected_version:
            raise VersionMismatchError(aggregate.version)
        return aggregate

    def history(
        self,
        user_id: str,
        aggregate_id: UUID,
        kind: type[A],
        *,
        after: int = 0,
        limit: int | None = None,
    ) -> list[HistoryEvent]:
        """The events of one of the user's aggregates (deleted ones too), oldest first:
        those after version ``after``, at most ``limit`` of them (None: all)."""
        self.get_owned(user_id, aggregate_id, kind)
        return self._events(aggregate_id, after, limit)

    def history_for_support(
        self, aggregate_id: UUID, *, after: int = 0, limit: int | None = None
    ) -> list[HistoryEvent]:
        """The events of ANY user's aggregate, as ``history`` pages them: deliberately
        not scoped.

        Only for the support role, through ``pcem.support.history``, which records
        each call in the support access log; nothing else may call this.
        """
        return self._events(aggregate_id, after, limit)

    def is_erased(self, aggregate_id: UUID) -> bool:
        """Whether the aggregate's last event is an erasure's tombstone (read alone: the
        tombstone is the one event of an erased aggregate left readable)."""
        last = list(self.repository.event_store.get(aggregate_id, desc=True, limit=1))
        return bool(last) and isinstance(last[0], Tombstone)

    def _events(self, aggregate_id: UUID, after: int, limit: int | None) -> list[HistoryEvent]:
        events = self.repository.event_store.get(aggregate_id, gt=after or None, limit=limit)
        return cast(list[HistoryEvent], list(events))

    def at_version(self, user_id: str, aggregate_id: UUID, kind: type[A], version: int) -> A:
        current = self.get_owned(user_id, aggregate_id, kind)
        if not 1 <= version <= current.version:
            raise NotFoundError(f"{kind.__name__} version", aggregate_id)
        return cast(A, self.repository.get(aggregate_id, version=version))

    def as_of(self, user_id: str, aggregate_id: UUID, kind: type[A], moment: datetime) -> A:
        """The aggregate as it was at ``moment``; not found if it did not exist yet or
        was not visible then (deleted, or an event hidden with its person), as a read
        at that moment would have answered."""
        aggregate: A | None = None
        for domain_event in self.history(user_id, aggregate_id, kind):
            if domain_event.timestamp > moment:
                break
            aggregate = domain_event.mutate(aggregate)
        if aggregate is None or not aggregate.is_visible:
            raise NotFoundError(kind.__name__, aggregate_id)
        return aggregate


class VersionMismatchError(Exception):
    def __init__(self, current_version: int) -> None:
        super().__init__("the resource is not at the version named by If-Match")
        self.current_version = current_version


class ConcurrentWritesError(Exception):
    def __init__(self) -> None:
        super().__init__("the resource is changing too often to apply this change; retry")
