"""Any aggregate's whole story, for support: read, then recorded, then shown.

The access is written to the log before anything is returned, so a read that
cannot be recorded is not answered. Attempts on unknown ids are recorded too.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from pcem.aggregates.erased import ErasedEvent, HistoryEvent
from pcem.aggregates.ownership import NotFoundError
from pcem.commands.base import PcemApplication
from pcem.support.access_log import Channel, SupportAccessLog


@dataclass(frozen=True)
class AggregateHistory:
    aggregate_id: UUID
    aggregate_type: str
    owner: str
    events: list[HistoryEvent]  # erased ones: type, time and actor only
    erased: bool  # purged or its account erased: entries shown without their content


class SupportHistory:
    def __init__(self, app: PcemApplication, access_log: SupportAccessLog) -> None:
        self.app = app
        self.access_log = access_log

    def read(
        self,
        aggregate_id: UUID,
        *,
        actor: str,
        channel: Channel,
        request_id: str | None = None,
        after: int = 0,
        limit: int | None = None,
    ) -> AggregateHistory:
        """The aggregate's owner and type, and its events after version ``after``
        (at most ``limit``; None: all of them)."""
        events = self.app.history_for_support(aggregate_id, after=after, limit=limit)
        # Owner and type are the creation's: read it too when the page starts later.
        first = events[:1] if after == 0 else self.app.history_for_support(aggregate_id, limit=1)
        self.access_log.record(
            actor=actor,
            aggregate_id=aggregate_id,
            channel=channel,
            found=bool(first),
            request_id=request_id,
        )
        if not first:
            raise NotFoundError("aggregate", aggregate_id)
        return AggregateHistory(
            aggregate_id=aggregate_id,
            aggregate_type=_aggregate_type(first[0]),
            owner=first[0].user_id,
            events=events,
            erased=self.app.is_erased(aggregate_id),
        )


def _aggregate_type(event: HistoryEvent) -> str:
    if isinstance(event, ErasedEvent):
        return event.aggregate_type
    return type(event).__qualname__.rsplit(".", 1)[0]  # Person.Created: Person
