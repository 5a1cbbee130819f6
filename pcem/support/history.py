"""Any aggregate's whole story, for support: read, then recorded, then shown.

The access is written to the log before anything is returned, so a read that
cannot be recorded is not answered. Attempts on unknown ids are recorded too.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from pcem.aggregates.ownership import OwnedEvent
from pcem.commands.base import NotFoundError, PcemApplication
from pcem.support.access_log import Channel, SupportAccessLog


@dataclass(frozen=True)
class AggregateHistory:
    aggregate_id: UUID
    aggregate_type: str
    owner: str
    events: list[OwnedEvent]


class SupportHistory:
    def __init__(self, app: PcemApplication, access_log: SupportAccessLog) -> None:
        self.app = app
        self.access_log = access_log

    def read(
        self, aggregate_id: UUID, *, actor: str, channel: Channel, request_id: str | None = None
    ) -> AggregateHistory:
        events = self.app.history_for_support(aggregate_id)
        self.access_log.record(
            actor=actor,
            aggregate_id=aggregate_id,
            channel=channel,
            found=bool(events),
            request_id=request_id,
        )
        if not events:
            raise NotFoundError("aggregate", aggregate_id)
        first = events[0]
        return AggregateHistory(
            aggregate_id=aggregate_id,
            aggregate_type=type(first).__qualname__.rsplit(".", 1)[0],  # Person.Created: Person
            owner=first.user_id,
            events=events,
        )
