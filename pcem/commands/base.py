"""What every PCEM application shares: the event store and user scoping."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import Transcoder

from pcem.aggregates.ownership import OwnedAggregate
from pcem.eventstore.config import EVENT_STORE_NAME
from pcem.eventstore.transcoder import UserJSONSafeTranscoder

A = TypeVar("A", bound=OwnedAggregate)


@dataclass(frozen=True)
class Written(Generic[A]):
    """An aggregate as saved, and the global position of its last new event."""

    aggregate: A
    position: int


class PcemApplication(Application[UUID]):
    name = EVENT_STORE_NAME

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.name = EVENT_STORE_NAME  # every context writes to the one event store

    def construct_transcoder(self) -> Transcoder:
        transcoder = UserJSONSafeTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def save_owned(self, aggregate: A) -> Written[A]:
        recordings = self.save(aggregate)
        position = max(r.notification.id for r in recordings if r.notification.id is not None)
        return Written(aggregate, position)

    def get_owned(self, user_id: str, aggregate_id: UUID, kind: type[A]) -> A:
        """The one place a write loads an aggregate: another user's is not found."""
        try:
            aggregate: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFoundError(kind.__name__, aggregate_id) from None
        if not isinstance(aggregate, kind) or not aggregate.is_owned_by(user_id):
            raise NotFoundError(kind.__name__, aggregate_id)
        return aggregate


class NotFoundError(LookupError):
    def __init__(self, kind: str, aggregate_id: UUID) -> None:
        super().__init__(f"{kind} {aggregate_id} not found")
        self.kind = kind
