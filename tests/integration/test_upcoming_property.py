"""The property end to end: `GET /events/upcoming` equals a day-by-day walk.

Random events (all-day or timed, every recurrence, special or not), zones and
windows (`days`, a range inside the materialised horizon, one far from today),
through the real API, projector and PostgreSQL.
"""

from __future__ import annotations

import calendar
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pcem.aggregates.occurrences import RECURRENCES, Schedule
from tests.calendar_oracle import ZONES, brute_force
from tests.conftest import TokenFactory
from tests.integration.api_helpers import Client, bearer, create_person
from tests.integration.test_upcoming import SETTINGS, add_event, settings_body, upcoming

# Fuzzing: a hundred random cases, each through the real API, projector and PostgreSQL.
pytestmark = pytest.mark.slow

TODAY = datetime.now(UTC).replace(tzinfo=None)


@st.composite
def first_dates(draw: st.DrawFn) -> date:
    """Mostly before the windows (so series recur in them), half of them at a month's end."""
    year, month = draw(st.integers(1950, TODAY.year)), draw(st.integers(1, 12))
    last = calendar.monthrange(year, month)[1]
    return date(year, month, draw(st.integers(1, last) | st.integers(last - 2, last)))


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    day = draw(first_dates())
    when: date | datetime = day
    if draw(st.booleans()):
        when = datetime.combine(day, draw(st.times()), tzinfo=UTC)
    return {
        "event_date": when.isoformat().replace("+00:00", "Z"),
        "recurrence": draw(st.sampled_from(RECURRENCES)),
        "is_special_event": draw(st.booleans()),
    }


def instants(low: datetime, high: datetime) -> st.SearchStrategy[datetime]:
    return st.datetimes(min_value=low, max_value=high, timezones=st.just(UTC))


SPANS = st.timedeltas(min_value=timedelta(hours=1), max_value=timedelta(days=366))
WINDOWS = st.one_of(
    st.integers(1, 366) | st.integers(300, 366),  # days=N from today's local midnight
    st.tuples(instants(TODAY - timedelta(days=25), TODAY + timedelta(days=30)), SPANS),
    st.tuples(instants(datetime(1990, 1, 1), datetime(2090, 1, 1)), SPANS),
)


def expected_range(
    window: int | tuple[datetime, timedelta], zone: ZoneInfo, today: date
) -> tuple[datetime, datetime]:
    if isinstance(window, int):  # API decisions: local midnight today, N local days
        midnight = datetime.combine(today, time(0), tzinfo=zone)
        later = datetime.combine(today + timedelta(days=window), time(0), tzinfo=zone)
        return midnight.astimezone(UTC), later.astimezone(UTC)
    return window[0], window[0] + window[1]


def schedule(event: dict[str, Any]) -> Schedule:
    value = event["event_date"]
    start = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    return Schedule(len(value) == 10, start, event["recurrence"])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    zone=st.sampled_from(ZONES),
    chosen=st.lists(events(), min_size=1, max_size=4),
    window=WINDOWS,
    special_only=st.booleans(),
)
def test_upcoming_equals_a_day_by_day_walk(
    client: Client,
    token_for: TokenFactory,
    zone: str,
    chosen: list[dict[str, Any]],
    window: int | tuple[datetime, timedelta],
    special_only: bool,
) -> None:
    auth = bearer(token_for(f"property-{uuid.uuid4()}"))
    client.put(SETTINGS, json=settings_body(zone), headers=auth)
    ada = create_person(client, auth)
    ids = [add_event(client, auth, ada["id"], **event) for event in chosen]
    if isinstance(window, int):
        params: dict[str, Any] = {"days": window}
    else:
        params = {"from": window[0].isoformat(), "to": (window[0] + window[1]).isoformat()}

    before = datetime.now(UTC)
    answer = upcoming(client, auth, special_only=special_only, **params)
    tz = ZoneInfo(zone)
    today = before.astimezone(tz).date()
    assume(datetime.now(UTC).astimezone(tz).date() == today)  # no local midnight in between

    start, end = expected_range(window, tz, today)
    expected = sorted(
        (o.occurs_at, event_id, o.local_date, (o.local_date - today).days, schedule(event).all_day)
        for event_id, event in zip(ids, chosen, strict=True)
        if event["is_special_event"] or not special_only
        for o in brute_force(schedule(event), tz, start, end)
    )
    assert answer["timezone"] == zone
    assert [
        (
            datetime.fromisoformat(o["occurs_at"]),
            o["event_id"],
            date.fromisoformat(o["local_date"]),
            o["days_until"],
            o["all_day"],
        )
        for o in answer["items"]
    ] == expected
