"""A calendar feed read as other people's code reads it: parsed by ``icalendar``,
expanded by ``recurring-ical-events``."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events


def parsed(content: bytes) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(content)


def expanded(
    content: bytes, zone: ZoneInfo, start: datetime, end: datetime
) -> list[tuple[str, datetime]]:
    """(event id, UTC start) of each occurrence with ``start <= occurs_at < end``, as
    ``recurring-ical-events`` expands the feed; an all-day one starts at local midnight
    (API.md's ``occurs_at``)."""
    calendar = parsed(content)
    wider = (start - timedelta(days=2)).date(), (end + timedelta(days=2)).date()
    found = []
    for component in recurring_ical_events.of(calendar).between(*wider):
        at = _utc_start(component.decoded("DTSTART"), zone)
        if start <= at < end:
            found.append((str(component["UID"]).removesuffix("@pcem"), at))
    return sorted(found, key=lambda o: (o[1], o[0]))


def _utc_start(value: date | datetime, zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        assert value.tzinfo is not None, "a timed event is never floating"
        return value.astimezone(UTC)
    return datetime.combine(value, time(0), tzinfo=zone).astimezone(UTC)
