"""Calendar arithmetic across the awkward corners of the world's clocks."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pcem.aggregates.occurrences import RECURRENCES, Occurrence, Schedule, occurrences
from tests.calendar_oracle import ZONES, brute_force


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def all_day(day: date, recurrence: str = "yearly") -> Schedule:
    return Schedule(True, day, recurrence)  # type: ignore[arg-type]


def timed(at: datetime, recurrence: str = "weekly") -> Schedule:
    return Schedule(False, at.astimezone(UTC), recurrence)  # type: ignore[arg-type]


def local_dates(schedule: Schedule, zone: str, start: datetime, end: datetime) -> list[date]:
    return [o.local_date for o in occurrences(schedule, ZoneInfo(zone), start, end)]


@pytest.mark.parametrize(
    ("zone", "utc_start"),
    [
        ("Pacific/Kiritimati", utc(2026, 5, 31, 10)),  # +14: the day starts 14 h before UTC
        ("Pacific/Pago_Pago", utc(2026, 6, 1, 11)),  # -11
        ("Asia/Kathmandu", utc(2026, 5, 31, 18, 15)),  # +5:45
        ("America/St_Johns", utc(2026, 6, 1, 2, 30)),  # -2:30 in summer (-3:30 standard)
        ("Australia/Lord_Howe", utc(2026, 5, 31, 13, 30)),  # +10:30 in winter
        ("Europe/Berlin", utc(2026, 5, 31, 22)),  # +2 in summer
    ],
)
def test_an_all_day_date_starts_at_local_midnight_in_every_zone(
    zone: str, utc_start: datetime
) -> None:
    birthday = all_day(date(1990, 6, 1))

    (occurrence,) = occurrences(birthday, ZoneInfo(zone), utc(2026, 5, 1), utc(2026, 7, 1))

    assert occurrence == Occurrence(utc_start, date(2026, 6, 1))


def test_the_same_birthday_is_a_different_instant_in_auckland_and_los_angeles() -> None:
    birthday = all_day(date(1985, 3, 14))
    window = (utc(2027, 3, 1), utc(2027, 4, 1))

    (auckland,) = occurrences(birthday, ZoneInfo("Pacific/Auckland"), *window)
    (los_angeles,) = occurrences(birthday, ZoneInfo("America/Los_Angeles"), *window)

    assert auckland.local_date == los_angeles.local_date == date(2027, 3, 14)
    assert auckland.occurs_at == utc(2027, 3, 13, 11)  # NZDT +13
    assert los_angeles.occurs_at == utc(2027, 3, 14, 8)  # still PST -8: DST starts at 02:00


def test_st_johns_day_starts_at_0330_utc_in_winter_and_0230_in_summer() -> None:
    monthly = all_day(date(2026, 1, 15), "monthly")  # DST from 8 March to 1 November 2026

    found = occurrences(monthly, ZoneInfo("America/St_Johns"), utc(2026, 2, 1), utc(2026, 4, 1))

    assert found == [
        Occurrence(utc(2026, 2, 15, 3, 30), date(2026, 2, 15)),  # NST -3:30
        Occurrence(utc(2026, 3, 15, 2, 30), date(2026, 3, 15)),  # NDT -2:30
    ]


@pytest.mark.parametrize(
    ("day", "midnight", "next_midnight"),
    [
        (date(2026, 3, 29), utc(2026, 3, 28, 23), utc(2026, 3, 29, 22)),  # a 23-hour day
        (date(2026, 10, 25), utc(2026, 10, 24, 22), utc(2026, 10, 25, 23)),  # a 25-hour day
    ],
)
def test_berlin_all_day_dates_around_both_dst_switches(
    day: date, midnight: datetime, next_midnight: datetime
) -> None:
    daily_pair = [all_day(day, "none"), all_day(day + timedelta(days=1), "none")]
    berlin = ZoneInfo("Europe/Berlin")

    found = [
        o for s in daily_pair for o in occurrences(s, berlin, utc(2026, 1, 1), utc(2027, 1, 1))
    ]

    assert found == [
        Occurrence(midnight, day),
        Occurrence(next_midnight, day + timedelta(days=1)),
    ]


@pytest.mark.parametrize(
    ("year", "auckland", "los_angeles"),
    [
        (
            2027,
            Occurrence(utc(2027, 2, 27, 11), date(2027, 2, 28)),
            Occurrence(utc(2027, 2, 28, 8), date(2027, 2, 28)),
        ),
        (
            2028,
            Occurrence(utc(2028, 2, 28, 11), date(2028, 2, 29)),
            Occurrence(utc(2028, 2, 29, 8), date(2028, 2, 29)),
        ),
    ],
)
def test_a_leap_day_birthday_in_auckland_and_los_angeles(
    year: int, auckland: Occurrence, los_angeles: Occurrence
) -> None:
    leapling = all_day(date(1996, 2, 29))
    window = (utc(year, 1, 1), utc(year, 12, 1))

    assert occurrences(leapling, ZoneInfo("Pacific/Auckland"), *window) == [auckland]  # NZDT +13
    assert occurrences(leapling, ZoneInfo("America/Los_Angeles"), *window) == [los_angeles]


def test_lord_howe_half_hour_dst_moves_the_start_of_the_day_by_thirty_minutes() -> None:
    weekly = all_day(date(2026, 9, 27), "weekly")  # DST starts 4 October 2026 at 02:00

    starts = [
        o.occurs_at
        for o in occurrences(
            weekly, ZoneInfo("Australia/Lord_Howe"), utc(2026, 9, 1), utc(2026, 10, 20)
        )
    ]

    assert starts == [
        utc(2026, 9, 26, 13, 30),
        utc(2026, 10, 3, 13, 30),
        utc(2026, 10, 10, 13),
        utc(2026, 10, 17, 13),
    ]


def test_weekly_meeting_keeps_its_local_time_across_both_berlin_dst_switches() -> None:
    meeting = timed(datetime(2026, 3, 16, 10, tzinfo=ZoneInfo("Europe/Berlin")))

    found = occurrences(meeting, ZoneInfo("Europe/Berlin"), utc(2026, 3, 16), utc(2026, 11, 3))
    local_times = {o.occurs_at.astimezone(ZoneInfo("Europe/Berlin")).time() for o in found}
    by_date = {o.local_date: o.occurs_at for o in found}

    assert local_times == {time(10)}
    assert by_date[date(2026, 3, 23)] == utc(2026, 3, 23, 9)  # CET
    assert by_date[date(2026, 3, 30)] == utc(2026, 3, 30, 8)  # CEST after 29 March
    assert by_date[date(2026, 10, 26)] == utc(2026, 10, 26, 9)  # CET again after 25 October


@pytest.mark.parametrize(
    ("year", "expected"),
    [(2027, date(2027, 2, 28)), (2028, date(2028, 2, 29)), (2100, date(2100, 2, 28))],
)
def test_leap_day_birthday_falls_on_28_february_in_other_years(year: int, expected: date) -> None:
    leapling = all_day(date(2024, 2, 29))

    assert local_dates(leapling, "UTC", utc(year, 1, 1), utc(year + 1, 1, 1)) == [expected]


def test_monthly_31st_falls_on_each_months_last_day() -> None:
    rent = all_day(date(2027, 1, 31), "monthly")

    found = local_dates(rent, "UTC", utc(2027, 1, 1), utc(2028, 1, 1))

    assert found == [date(2027, m, calendar.monthrange(2027, m)[1]) for m in range(1, 13)]


def test_recurrence_starts_at_the_first_date_not_before() -> None:
    assert local_dates(all_day(date(2026, 7, 1)), "UTC", utc(2020, 1, 1), utc(2026, 1, 1)) == []
    assert local_dates(
        all_day(date(2026, 7, 1), "none"), "UTC", utc(2026, 1, 1), utc(2027, 1, 1)
    ) == [date(2026, 7, 1)]


def test_a_series_starting_outside_the_calendar_has_no_occurrences() -> None:
    # Refused since the 0002..9998 rule; one stored before must not stop a projection.
    late = timed(datetime(9999, 12, 31, 23, tzinfo=UTC), "yearly")

    assert (
        occurrences(late, ZoneInfo("Pacific/Kiritimati"), utc(9998, 1, 1), utc(9998, 12, 31)) == []
    )


def test_a_weekly_0230_in_berlin_on_the_dst_switch_days() -> None:
    # Sunday 02:30 does not exist on 29 March 2026 (clocks jump 02:00 -> 03:00): the
    # occurrence is at 01:30 UTC, 03:30 summer time. On 25 October it happens twice
    # (03:00 -> 02:00): the occurrence is the first, 00:30 UTC, still summer time.
    sunday = timed(datetime(2026, 3, 22, 2, 30, tzinfo=ZoneInfo("Europe/Berlin")))

    found = occurrences(sunday, ZoneInfo("Europe/Berlin"), utc(2026, 3, 22), utc(2026, 11, 2))
    by_date = {o.local_date: o.occurs_at for o in found}

    assert by_date[date(2026, 3, 22)] == utc(2026, 3, 22, 1, 30)  # CET
    assert by_date[date(2026, 3, 29)] == utc(2026, 3, 29, 1, 30)  # in the gap
    assert by_date[date(2026, 4, 5)] == utc(2026, 4, 5, 0, 30)  # CEST
    assert by_date[date(2026, 10, 25)] == utc(2026, 10, 25, 0, 30)  # the first 02:30
    assert by_date[date(2026, 11, 1)] == utc(2026, 11, 1, 1, 30)  # CET again


def test_range_is_half_open() -> None:
    once = timed(utc(2026, 5, 1, 12), "none")

    assert occurrences(once, ZoneInfo("UTC"), utc(2026, 5, 1, 12), utc(2026, 5, 1, 13)) != []
    assert occurrences(once, ZoneInfo("UTC"), utc(2026, 5, 1, 11), utc(2026, 5, 1, 12)) == []


# The property: the fast expansion equals a brute-force walk over every local day.


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    day = draw(st.dates(min_value=date(1950, 1, 1), max_value=date(2080, 12, 31)))
    recurrence = draw(st.sampled_from(RECURRENCES))
    if draw(st.booleans()):
        return all_day(day, recurrence)
    moment = datetime.combine(day, draw(st.times()), tzinfo=UTC)
    return timed(moment, recurrence)


@settings(max_examples=300, deadline=None)
@given(
    schedule=schedules(),
    zone=st.sampled_from(ZONES),
    start=st.datetimes(
        min_value=datetime(1950, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
    ),
    span=st.timedeltas(min_value=timedelta(hours=1), max_value=timedelta(days=366)),
)
def test_expansion_equals_a_day_by_day_walk(
    schedule: Schedule, zone: str, start: datetime, span: timedelta
) -> None:
    tz = ZoneInfo(zone)

    assert occurrences(schedule, tz, start, start + span) == brute_force(
        schedule, tz, start, start + span
    )
