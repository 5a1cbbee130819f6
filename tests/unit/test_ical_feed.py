"""The feed's rules give exactly PCEM's occurrences, read by other people's code:
``icalendar`` parses every feed, ``recurring-ical-events`` expands it."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pcem.aggregates.event import schedule_of
from pcem.aggregates.occurrences import occurrences
from pcem.projections.ical_feed import FeedEvent, render
from tests.ical_reader import expanded, parsed

CHANGED = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
START, END = datetime(2024, 1, 1, tzinfo=UTC), datetime(2034, 1, 1, tzinfo=UTC)
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"]
SERIES = [
    ("2024-02-29", "yearly"),  # 28 February in common years
    ("2028-02-29", "monthly"),
    ("2025-01-31", "monthly"),  # each month's last day
    ("2025-03-30", "monthly"),
    ("2024-01-29", "monthly"),
    ("2024-01-28", "monthly"),
    ("2025-01-31", "yearly"),
    ("2025-06-01", "weekly"),
    ("2025-06-01", "none"),
    ("2024-02-29T23:30:00+00:00", "yearly"),  # a timed 29 February, local 1 March in Berlin
    ("2025-01-31T18:00:00+01:00", "monthly"),
    ("2025-03-20T09:30:00-04:00", "weekly"),  # keeps its wall-clock time across DST
    ("2025-03-30T02:30:00+02:00", "weekly"),
    ("2025-10-26T00:30:00+00:00", "monthly"),  # 02:30 in Berlin, the first of two
    ("2026-07-04T12:00:00-04:00", "none"),
]


def feed_event(event_date: str, recurrence: str, **fields: str) -> FeedEvent:
    return FeedEvent(
        uuid.uuid4(),
        fields.get("person_name", "Ada Lovelace"),
        fields.get("title", "Birthday"),
        event_date,
        recurrence,
        fields.get("notes", ""),
        CHANGED - timedelta(days=1),
        CHANGED,
    )


def pcem_occurrences(event: FeedEvent, zone: ZoneInfo) -> list[tuple[str, datetime]]:
    schedule = schedule_of(event.event_date, event.recurrence)
    return [(str(event.id), o.occurs_at) for o in occurrences(schedule, zone, START, END)]


@pytest.mark.parametrize("zone_name", ZONES)
@pytest.mark.parametrize(("event_date", "recurrence"), SERIES)
def test_the_feed_expands_to_exactly_pcems_occurrences(
    zone_name: str, event_date: str, recurrence: str
) -> None:
    zone = ZoneInfo(zone_name)
    event = feed_event(event_date, recurrence)

    feed = render([event], zone)

    assert expanded(feed, zone, START, END) == pcem_occurrences(event, zone)


def test_every_monthly_day_and_yearly_date_of_a_leap_year_expands_exactly() -> None:
    zone = ZoneInfo("Europe/Berlin")
    events = [feed_event(f"2024-01-{day:02d}", "monthly") for day in range(1, 32)]
    events += [feed_event(f"2024-02-{day:02d}", "yearly") for day in range(26, 30)]

    feed = render(events, zone)

    expected = sorted(
        (o for e in events for o in pcem_occurrences(e, zone)), key=lambda o: (o[1], o[0])
    )
    assert expanded(feed, zone, START, END) == expected


def test_the_rules_for_days_some_months_lack_pick_the_last_day() -> None:
    feed = render(
        [feed_event("2024-02-29", "yearly"), feed_event("2025-01-30", "monthly")], ZoneInfo("UTC")
    ).decode()

    assert "RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=28,29;BYSETPOS=-1\r\n" in feed
    assert "RRULE:FREQ=MONTHLY;BYMONTHDAY=28,29,30;BYSETPOS=-1\r\n" in feed


def test_text_is_escaped_and_lines_folded_within_75_octets_between_characters() -> None:
    title = "Café; brunch, with \\ backslash " + "ß🎂" * 40
    event = feed_event("2025-06-01", "none", title=title, notes="a\nb\r\nc", person_name="Zoë")

    content = render([event], ZoneInfo("UTC"))

    assert all(len(line) <= 75 for line in content.split(b"\r\n"))
    [component] = parsed(content).walk("VEVENT")
    assert str(component["SUMMARY"]) == f"Zoë: {title}"
    assert str(component["DESCRIPTION"]) == "a\nb\nc"


def test_the_same_events_render_the_same_bytes_with_dtstamp_their_last_change() -> None:
    events = [feed_event("2025-06-01", "yearly"), feed_event("2025-06-01T10:00:00Z", "weekly")]
    zone = ZoneInfo("America/New_York")

    first, second = render(events, zone), render(events, zone)

    assert first == second
    assert [c.decoded("DTSTAMP") for c in parsed(first).walk("VEVENT")] == [CHANGED] * 2


def test_a_calendar_without_events_still_has_its_zone_and_refresh_interval() -> None:
    calendar = parsed(render([], ZoneInfo("Europe/Berlin")))

    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]
    assert calendar["REFRESH-INTERVAL"].to_ical() == b"PT1H"
    assert str(calendar["X-PUBLISHED-TTL"]) == "PT1H"
    assert date.today()  # the feed reads no clock: nothing above depends on today
