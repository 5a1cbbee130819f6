"""A deliberately naive calendar: every local day, one by one, checked against the
recurrence rules of API.md. The fast expansion and the upcoming query must agree."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pcem.aggregates.occurrences import Occurrence, Schedule

ZONES = [
    "UTC",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "Asia/Kathmandu",
    "America/St_Johns",
    "Australia/Lord_Howe",
    "Europe/Berlin",
    "America/Los_Angeles",
    "Pacific/Auckland",
    "America/Santiago",
    "Asia/Tehran",
    "Africa/Casablanca",
]


def brute_force(
    schedule: Schedule, zone: ZoneInfo, start: datetime, end: datetime
) -> list[Occurrence]:
    if schedule.all_day:
        first, wall = schedule.start, time(0)
    else:
        local = schedule.start.astimezone(zone)  # type: ignore[union-attr]
        first, wall = local.date(), local.time().replace(tzinfo=None)
    found = []
    day = start.astimezone(zone).date() - timedelta(days=2)
    while day <= end.astimezone(zone).date() + timedelta(days=2):
        at = datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)
        if happens_on(first, schedule.recurrence, day) and start <= at < end:
            found.append(Occurrence(at, day))
        day += timedelta(days=1)
    return found


def happens_on(first: date, recurrence: str, day: date) -> bool:
    if day < first:
        return False
    last_of_month = calendar.monthrange(day.year, day.month)[1]
    if recurrence == "none":
        return day == first
    if recurrence == "weekly":
        return (day - first).days % 7 == 0
    if recurrence == "monthly":
        return day.day == min(first.day, last_of_month)
    return day.month == first.month and day.day == min(first.day, last_of_month)
