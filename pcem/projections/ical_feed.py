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

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from uuid import UUID
from zoneinfo import ZoneInfo

import icalendar

from pcem.aggregates.event import schedule_of

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
    lines: list[str] = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "X-WR-CALNAME:PCEM",
        f"REFRESH-INTERVAL;VALUE=DURATION:{REFRESH}",
        f"X-PUBLISHED-TTL:{REFRESH}",
    ]
    body: list[str] = []
    first_year = _ZONE_FROM.year
    for event in events:
        body.extend(_vevent(event, zone))
        first_year = min(first_year, _local_year(event, zone) or first_year)
    # The user's zone, always: the rules of timed series refer to it, and with it even
    # an empty account's feed has the one component RFC 5545 asks of a calendar.
    lines.extend(_vtimezone(zone.key, first_year))
    lines.extend(body)
    lines.append("END:VCALENDAR")
    return "".join(_folded(line) for line in lines).encode()


def _vevent(event: FeedEvent, zone: ZoneInfo) -> Iterator[str]:
    schedule = schedule_of(event.event_date, event.recurrence)
    yield "BEGIN:VEVENT"
    yield f"UID:{event.id}@{UID_DOMAIN}"
    yield f"DTSTAMP:{_utc(event.changed_at)}"
    yield f"CREATED:{_utc(event.created_at)}"
    yield f"LAST-MODIFIED:{_utc(event.changed_at)}"
    if isinstance(schedule.start, datetime):
        local = schedule.start.astimezone(zone)
        if _in_zone(event, zone):
            yield f"DTSTART;TZID={zone.key}:{local:%Y%m%dT%H%M%S}"
        else:
            yield f"DTSTART:{_utc(schedule.start)}"
        first = local.date()
    else:
        first = schedule.start
        yield f"DTSTART;VALUE=DATE:{_date(first)}"
        yield f"DTEND;VALUE=DATE:{_date(first + timedelta(days=1))}"
    if rule := _rule(event.recurrence, first):
        yield f"RRULE:{rule}"
    yield f"SUMMARY:{_text(f'{event.person_name}: {event.title}')}"
    if event.notes:
        yield f"DESCRIPTION:{_text(event.notes)}"
    yield "TRANSP:TRANSPARENT"
    yield "END:VEVENT"


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


def _in_zone(event: FeedEvent, zone: ZoneInfo) -> bool:
    """Whether a timed event is written in the user's zone: it recurs, and the zone is
    not UTC (whose wall clock is UTC's)."""
    return event.recurrence != "none" and zone.key != "UTC"


def _local_year(event: FeedEvent, zone: ZoneInfo) -> int | None:
    """The local year a timed event in the zone starts in; None for any other."""
    if len(event.event_date) == len("YYYY-MM-DD") or not _in_zone(event, zone):
        return None
    return datetime.fromisoformat(event.event_date).astimezone(zone).year


@lru_cache(maxsize=64)
def _vtimezone(key: str, first_year: int) -> tuple[str, ...]:
    """The zone's VTIMEZONE lines, from the year its first event starts in."""
    component = icalendar.Timezone.from_tzid(
        key, first_date=date(first_year, 1, 1), last_date=_ZONE_UNTIL
    )
    component.pop("COMMENT", None)  # its default says "1970 to 2038": not ours
    text = component.to_ical().decode().replace("\r\n ", "")  # unfolded: folded again below
    return tuple(line for line in text.split("\r\n") if line)


def _utc(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def _date(day: date) -> str:
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


def _text(value: str) -> str:
    """A TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma and newlines escaped."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\r", "\\n")
        .replace("\n", "\\n")
    )


def _folded(line: str) -> str:
    """``line`` with CRLF, folded into lines of at most 75 octets (RFC 5545 3.1), never
    inside a UTF-8 character."""
    encoded = line.encode()
    if len(encoded) <= 75:
        return line + "\r\n"
    parts, start, limit = [], 0, 75
    while start < len(encoded):
        end = min(start + limit, len(encoded))
        while end < len(encoded) and (encoded[end] & 0xC0) == 0x80:  # a continuation byte
            end -= 1
        parts.append(encoded[start:end].decode())
        start, limit = end, 74  # a continuation line starts with a space
    return "\r\n ".join(parts) + "\r\n"
