"""A user's events as an iCalendar (RFC 5545) feed: rows in, bytes out, no I/O.

The same rows give the same bytes: every value comes from the rows and the zone,
none from the clock (``DTSTAMP`` is the record's last change), so sync clients see an
unchanged event as unchanged, and the ETag follows the content.

Recurrences give exactly PCEM's occurrences (``pcem.aggregates.occurrences``): a date
that a month or a year lacks falls on its last day there, where a plain RFC 5545 rule
would skip it. So a yearly 29 February and a monthly 29th-31st pick the last of the
days from the 28th up to theirs (``BYMONTHDAY=28,29;BYSETPOS=-1``). A timed event that
recurs keeps its local wall-clock time in the user's zone, so its rule runs in that
zone (``TZID``, with a ``VTIMEZONE``); every other timed event is written in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from uuid import UUID
from zoneinfo import ZoneInfo

import icalendar

from pcem.contacts.content_lines import folded as _folded
from pcem.contacts.content_lines import text as _text

# How often clients should fetch again (RFC 7986; Outlook's X-PUBLISHED-TTL).
REFRESH = "PT1H"
PRODID = "-//PCEM//Calendar feed//EN"
UID_DOMAIN = "pcem"
# A VTIMEZONE lists its zone's transitions from 1970 (or its first timed series' year)
# up to 2100 (clients know later ones by the zone's name).
_ZONE_FROM = date(1970, 1, 1)
_ZONE_UNTIL = date(2100, 1, 1)
_FIRST_CLAMPED_DAY = 29


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """One live event, as the feed needs it (a row of ``CalendarFeedView.EVENTS``)."""

    id: UUID
    person_name: str
    title: str
    event_date: str
    recurrence: str
    notes: str
    created_at: datetime
    changed_at: datetime  # the last change of the event or its person


def render(events: Iterable[FeedEvent], zone: ZoneInfo) -> bytes:
    """The feed of ``events`` for a user in ``zone``, as bytes (UTF-8, CRLF, folded)."""
    body: list[str] = []
    first_year = _ZONE_FROM.year
    for event in events:
        body.append(vevent(event, zone))
        first_year = min(first_year, zone_year(event.event_date, event.recurrence, zone))
    return "".join([head(zone, first_year), *body, END]).encode()


def head(zone: ZoneInfo, first_year: int = _ZONE_FROM.year) -> str:
    """The calendar's first lines: its properties and the user's ``VTIMEZONE``, with
    the zone's transitions from ``first_year`` (``zone_year`` of its earliest event).
    The user's zone, always: the rules of timed series refer to it, and with it even an
    empty account's feed has the one component RFC 5545 asks of a calendar. A stream
    of the calendar (the export) writes ``head``, each ``vevent`` and ``END``."""
    return _HEAD + _vtimezone(zone.key, first_year)


def zone_year(event_date: str, recurrence: str, zone: ZoneInfo) -> int:
    """The first year the ``VTIMEZONE`` must cover for this event: the local year a
    timed series written in the zone starts in, when before 1970; else 1970."""
    if len(event_date) == len("YYYY-MM-DD") or not _in_zone(recurrence, zone):
        return _ZONE_FROM.year
    return min(_ZONE_FROM.year, datetime.fromisoformat(event_date).astimezone(zone).year)


END = "END:VCALENDAR\r\n"
_HEAD = "".join(
    f"{line}\r\n"
    for line in (
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "X-WR-CALNAME:PCEM",
        f"REFRESH-INTERVAL;VALUE=DURATION:{REFRESH}",
        f"X-PUBLISHED-TTL:{REFRESH}",
    )
)


def vevent(event: FeedEvent, zone: ZoneInfo) -> str:
    """One VEVENT, CRLF-terminated. One string a component: at 1,000 events, a
    generator of lines each folded on its own took twice as long. Only the text lines
    can pass 75 octets (the longest other, a TZID start, stays near 60)."""
    stamp = _utc(event.changed_at)
    start, first = _start(event, zone)
    rule = _rule(event.recurrence, first)
    parts = [
        f"BEGIN:VEVENT\r\nUID:{event.id}@{UID_DOMAIN}\r\nDTSTAMP:{stamp}\r\n"
        f"CREATED:{_utc(event.created_at)}\r\nLAST-MODIFIED:{stamp}\r\n{start}",
        f"RRULE:{rule}\r\n" if rule else "",
        _folded(f"SUMMARY:{_text(f'{event.person_name}: {event.title}')}"),
        _folded(f"DESCRIPTION:{_text(event.notes)}") if event.notes else "",
        "TRANSP:TRANSPARENT\r\nEND:VEVENT\r\n",
    ]
    return "".join(parts)


def _start(event: FeedEvent, zone: ZoneInfo) -> tuple[str, date]:
    """The DTSTART (and an all-day event's DTEND) lines, and the series' first local date."""
    if len(event.event_date) == len("YYYY-MM-DD"):
        first = date.fromisoformat(event.event_date)
        after = first + timedelta(days=1)
        return f"DTSTART;VALUE=DATE:{_date(first)}\r\nDTEND;VALUE=DATE:{_date(after)}\r\n", first
    at = datetime.fromisoformat(event.event_date)
    local = at.astimezone(zone)
    if _in_zone(event.recurrence, zone):
        return f"DTSTART;TZID={zone.key}:{_floating(local)}\r\n", local.date()
    return f"DTSTART:{_utc(at)}\r\n", local.date()


def _rule(recurrence: str, first: date) -> str | None:
    """The RRULE whose dates are PCEM's for a series starting on ``first``."""
    if recurrence == "weekly":
        return "FREQ=WEEKLY"
    if recurrence == "monthly" and first.day >= _FIRST_CLAMPED_DAY:
        return f"FREQ=MONTHLY;BYMONTHDAY={_days_up_to(first.day)};BYSETPOS=-1"
    if recurrence == "monthly":
        return "FREQ=MONTHLY"
    if recurrence == "yearly" and (first.month, first.day) == (2, 29):
        return f"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY={_days_up_to(29)};BYSETPOS=-1"
    if recurrence == "yearly":
        return "FREQ=YEARLY"
    return None


def _days_up_to(day: int) -> str:
    """28 up to ``day``: every month has the 28th, and the last of these it has is
    the day PCEM picks (``BYSETPOS=-1``)."""
    return ",".join(str(d) for d in range(_FIRST_CLAMPED_DAY - 1, day + 1))


def _in_zone(recurrence: str, zone: ZoneInfo) -> bool:
    """Whether a timed event is written in the user's zone: it recurs, and the zone is
    not UTC (whose wall clock is UTC's)."""
    return recurrence != "none" and zone.key != "UTC"


@lru_cache(maxsize=64)
def _vtimezone(key: str, first_year: int) -> str:
    """The zone's VTIMEZONE, from the year its first event starts in (CRLF, folded)."""
    component = icalendar.Timezone.from_tzid(
        key, first_date=date(first_year, 1, 1), last_date=_ZONE_UNTIL
    )
    component.pop("COMMENT", None)  # its default says "1970 to 2038": not ours
    text = component.to_ical().decode().replace("\r\n ", "")  # unfolded: folded again below
    return "".join(_folded(line) for line in text.split("\r\n") if line)


def _utc(at: datetime) -> str:
    return _floating(at.astimezone(UTC)) + "Z"


def _floating(at: datetime) -> str:
    """``at``'s wall-clock time to the second, as RFC 5545 writes it: the first 19
    characters of isoformat (YYYY-MM-DDTHH:MM:SS, 4-digit years) at a third of strftime's
    cost, with or without microseconds and offset after them."""
    return at.isoformat()[:19].replace("-", "").replace(":", "")


def _date(day: date) -> str:
    return day.isoformat().replace("-", "")
