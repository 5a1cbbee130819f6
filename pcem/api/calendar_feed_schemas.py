"""Bodies of ``/me/calendar-feed`` (API.md, "Your data in and out")."""

from __future__ import annotations

from datetime import datetime

import msgspec


class CalendarFeedCreated(msgspec.Struct):
    """A new secret feed URL: this answer is the only place it is ever shown."""

    url: str
    webcal_url: str
    created_at: datetime


class CalendarFeedStatus(msgspec.Struct):
    """Whether the caller has a feed: when it was made and last fetched (never its URL)."""

    created_at: datetime
    last_fetched_at: datetime | None
