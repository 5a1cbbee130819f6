"""The feed, expanded by ``recurring-ical-events`` over five years, equals occurrence
for occurrence what ``GET /api/v1/events/upcoming`` answers over the same range."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.ical_reader import expanded
from tests.integration.api_helpers import Client, create_person
from tests.integration.feed_helpers import add_event, caught_up, make_feed, set_zone

START = datetime(2024, 1, 1, tzinfo=UTC)
YEARS = 5
SERIES = [
    ("2024-02-29", "yearly"),
    ("1604-04-15", "yearly"),  # a birthday without a year (docs/api-decisions.md)
    ("1604-02-29", "yearly"),  # the same, on 29 February
    ("2025-01-31", "monthly"),
    ("2025-03-30", "monthly"),
    ("2024-01-29", "monthly"),
    ("2024-06-15", "weekly"),
    ("2026-05-01", "none"),
    ("2024-02-29T08:15:00+01:00", "yearly"),
    ("2025-01-31T18:00:00+01:00", "monthly"),
    ("2025-03-06T09:30:00-05:00", "weekly"),  # across both zones' DST changes
    ("2025-10-26T00:30:00+00:00", "monthly"),  # 02:30 in Berlin on its night back
    ("2026-07-04T12:00:00-04:00", "none"),
]


def upcoming(client: Client, auth: dict[str, str], start: datetime, end: datetime) -> Any:
    params = {"from": start.isoformat(), "to": end.isoformat()}
    response = client.get("/api/v1/events/upcoming", params=params, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()["items"]


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York"])
def test_the_expanded_feed_equals_the_upcoming_occurrences_over_five_years(
    client: Client, auth: dict[str, str], zone: str
) -> None:
    set_zone(client, auth, zone)
    person = create_person(client, auth)
    for event_date, recurrence in SERIES:
        add_event(client, auth, person["id"], event_date=event_date, recurrence=recurrence)
    caught_up(client, auth)
    feed = client.get(make_feed(client, auth)).content

    compared = 0
    for year in range(YEARS):  # the upcoming query spans at most 366 days
        start, end = START + timedelta(days=365 * year), START + timedelta(days=365 * (year + 1))
        answered = [
            (o["event_id"], datetime.fromisoformat(o["occurs_at"]))
            for o in upcoming(client, auth, start, end)
        ]
        assert expanded(feed, ZoneInfo(zone), start, end) == sorted(
            answered, key=lambda o: (o[1], o[0])
        )
        compared += len(answered)
    assert compared > 5 * (52 + 12 * 4)  # two weekly and four monthly series, at least
