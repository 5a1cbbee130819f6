"""Helpers of the calendar feed's tests: make a feed, fetch it, read it as clients do."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import icalendar
import recurring_ical_events

FEED = "/api/v1/me/calendar-feed"
EVENTS = "/api/v1/events"
SETTINGS = "/api/v1/me/settings"


def make_feed(client: httpx.Client, auth: dict[str, str]) -> str:
    """A new feed of the caller's: its path (``/feeds/calendar/<token>.ics``)."""
    made = client.post(FEED, headers=auth)
    assert made.status_code == 201, made.text
    return urlsplit(str(made.json()["url"])).path


def add_event(client: httpx.Client, auth: dict[str, str], person_id: str, **body: Any) -> str:
    payload = {"person_id": person_id, "title": "Birthday", "event_date": "1990-06-01", **body}
    response = client.post(EVENTS, json=payload, headers=auth)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def caught_up(client: httpx.Client, auth: dict[str, str]) -> None:
    """Wait until the read models hold the caller's writes (the feed has no caller to
    wait for: it reads what is projected)."""
    assert client.get(EVENTS, headers=auth).status_code == 200


def set_zone(client: httpx.Client, auth: dict[str, str], timezone: str) -> None:
    body = {
        "timezone": timezone,
        "notifications": {
            "enabled": True,
            "lead_time_days": [7],
            "delivery_time": "09:00",
            "channels": [{"type": "in_app"}],
        },
    }
    assert client.put(SETTINGS, json=body, headers=auth).status_code == 200


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
