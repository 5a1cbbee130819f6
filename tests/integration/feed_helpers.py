"""Helpers of the calendar feed's tests over HTTP: make a feed, events, a zone."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

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
