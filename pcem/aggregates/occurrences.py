"""When a date that matters happens: pure calendar arithmetic, no I/O.

An all-day event happens on local calendar dates, each starting at local
midnight in the user's zone. A timed event happens at an instant; when it
recurs it keeps its local wall-clock time in the user's zone (a weekly 10:00
meeting stays at 10:00 across DST). Recurrence counts from the first date:
yearly on the same month and day (29 February falls on 28 February in other
years), monthly on the same day (the 31st falls on a shorter month's last day),
weekly every seven days.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Recurrence = Literal["none", "yearly", "monthly", "weekly"]
RECURRENCES: tuple[Recurrence, ...] = ("none", "yearly", "monthly", "weekly")

# The span of dates PCEM keeps. Python's calendar runs from year 1 to 9999; local
# time lies within a day of UTC and the expansion looks a day past its range, so a
# year of margin at each end keeps every computation inside it.
FIRST_DAY = date(2, 1, 1)
LAST_DAY = date(9998, 12, 31)


@dataclass(frozen=True)
class Schedule:
    """What the arithmetic needs to know about one event."""

    all_day: bool
    start: date | datetime  # a date when all_day, else an aware UTC datetime
    recurrence: Recurrence


@dataclass(frozen=True, order=True)
class Occurrence:
    occurs_at: datetime  # UTC
    local_date: date


def in_calendar(value: date | datetime) -> bool:
    """Whether a date, or an aware instant's UTC date, lies in ``FIRST_DAY..LAST_DAY``."""
    if isinstance(value, datetime):
        try:
            value = value.astimezone(UTC).date()
        except OverflowError:  # so far out that UTC has no such date
            return False
    return FIRST_DAY <= value <= LAST_DAY


def occurrences(
    schedule: Schedule, zone: ZoneInfo, start: datetime, end: datetime
) -> list[Occurrence]:
    """Every occurrence with ``start <= occurs_at < end`` (aware datetimes), in order.
    None for a series starting outside the calendar (refused since 0002..9998 became
    the rule; an event stored before it must not stop a projection)."""
    if not in_calendar(schedule.start):
        return []
    first_local, wall = _anchor(schedule, zone)
    # A local date's start lies within a day of its UTC date: widen, then filter exactly.
    lo = start.astimezone(zone).date() - timedelta(days=1)
    hi = end.astimezone(zone).date() + timedelta(days=1)
    found = []
    for day in local_dates(first_local, schedule.recurrence, lo, hi):
        at = _utc(day, wall, zone)
        if start <= at < end:
            found.append(Occurrence(at, day))
    return found


def local_dates(first: date, recurrence: Recurrence, lo: date, hi: date) -> Iterator[date]:
    """Dates of the series that starts on ``first``, within ``lo..hi`` inclusive, in order."""
    lo = max(lo, first)
    if lo > hi:
        return
    if recurrence == "none":
        yield from [first] if lo <= first <= hi else []
    elif recurrence == "weekly":
        day = first + timedelta(days=-(-(lo - first).days // 7) * 7)
        while day <= hi:
            yield day
            day += timedelta(days=7)
    elif recurrence == "monthly":
        for year, month in _months(lo, hi):
            yield from _within(_clamped(year, month, first.day), lo, hi)
    else:
        for year in range(lo.year, hi.year + 1):
            yield from _within(_clamped(year, first.month, first.day), lo, hi)


def _anchor(schedule: Schedule, zone: ZoneInfo) -> tuple[date, time]:
    if schedule.all_day:
        assert isinstance(schedule.start, date) and not isinstance(schedule.start, datetime)
        return schedule.start, time(0)
    assert isinstance(schedule.start, datetime)
    local = schedule.start.astimezone(zone)
    return local.date(), local.time().replace(tzinfo=None)


def _utc(day: date, wall: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)


def _clamped(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _within(day: date, lo: date, hi: date) -> list[date]:
    return [day] if lo <= day <= hi else []


def _months(lo: date, hi: date) -> Iterator[tuple[int, int]]:
    year, month = lo.year, lo.month
    while (year, month) <= (hi.year, hi.month):
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
