"""An aggregate's history as support staff read it: any user's, with its owner."""

from __future__ import annotations

import msgspec

from pcem.aggregates.erased import HistoryEvent
from pcem.commands.history import AuditEntry, audit_entry
from pcem.support.history import AggregateHistory


class AggregateHistoryOut(msgspec.Struct):
    """Any user's aggregate and its whole history, as support sees it."""

    aggregate_id: str
    aggregate_type: str
    owner: str
    items: list[AuditEntry]
    next_cursor: str | None


def support_history_of(
    history: AggregateHistory,
    events: list[HistoryEvent] | None = None,
    next_cursor: str | None = None,
) -> AggregateHistoryOut:
    """``events``: the page of ``history.events`` to show (default: all of them)."""
    return AggregateHistoryOut(
        aggregate_id=str(history.aggregate_id),
        aggregate_type=history.aggregate_type,
        owner=history.owner,
        items=[
            audit_entry(e, content=not history.erased)
            for e in (history.events if events is None else events)
        ],
        next_cursor=next_cursor,
    )
