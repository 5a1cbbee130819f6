"""What an erased event still is: its place in the store, its type, when and by whom.

An event whose subject's key was destroyed (docs/privacy.md) decodes as an
``ErasedEvent``: the clear envelope of the stored event and nothing of its content.
Projections have no handler for it (they skip it); an aggregate with one in its
history is not found; a history shows its type, time and actor only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.utils import resolve_topic

from pcem.aggregates.ownership import OwnedEvent


@dataclass(frozen=True)
class ErasedEvent:
    originator_id: UUID
    originator_version: int
    topic: str  # the class the event was: its type survives, its fields do not
    timestamp: datetime
    user_id: str  # the owner
    actor: str

    @property
    def audit_type(self) -> str:
        """The type a history shows, as the live event would show it."""
        kind = resolve_topic(self.topic)
        return str(getattr(kind, "audit_type", kind.__qualname__.replace(".", "")))

    @property
    def aggregate_type(self) -> str:
        """``Person`` for ``...person:Person.Created``."""
        return self.topic.rpartition(":")[2].split(".", 1)[0]

    def mutate(self, aggregate: object) -> NoReturn:
        """Nothing can be rebuilt from an erased event: its aggregate is not found."""
        raise AggregateNotFoundError(f"aggregate {self.originator_id} is erased")


# What a history lists: the events, each live or erased.
HistoryEvent = OwnedEvent | ErasedEvent
