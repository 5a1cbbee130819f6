"""History lists: an aggregate's events, a page at a time, by version."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from pcem.aggregates.erased import HistoryEvent
from pcem.api.conventions import Paging
from pcem.api.pagination import Page, decode_version_cursor, encode_version_cursor


def after_version(paging: Paging, aggregate_id: UUID) -> int:
    """The version the requested page starts after (0: from the creation)."""
    return decode_version_cursor(paging.cursor, aggregate_id) if paging.cursor else 0


def page_of(
    paging: Paging, aggregate_id: UUID, events: Sequence[HistoryEvent]
) -> tuple[list[HistoryEvent], str | None]:
    """The page's events (of ``paging.fetch`` read) and the next page's cursor."""
    page: Page[HistoryEvent] = paging.page(
        events, lambda event: encode_version_cursor(aggregate_id, event.originator_version)
    )
    return page.items, page.next_cursor
