"""How a reminder reads: plain English, dates as the user's own calendar shows them.

Pure: the caller passes the occurrence's date in the user's zone (the schedule
row carries it), so nothing here reads a clock or converts a zone. Weekday and
month names are spelled out here, not by ``strftime``, which follows the
process's locale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True)
class Wording:
    title: str  # "Anna Smith's birthday is in 7 days": an email subject, a notification title
    body: str  # the title, then " — Saturday 28 November": a text body, an SMS
    html: str  # the body as a small HTML document


def reminder(person_name: str, event_title: str, lead_days: int, local_date: date) -> Wording:
    """The reminder sent ``lead_days`` before ``local_date`` (the user's calendar date)."""
    title = f"{possessive(person_name)} {common_noun(event_title)} {relative_day(lead_days)}"
    body = f"{title} — {calendar_date(local_date, sent_on=local_date - timedelta(lead_days))}"
    return Wording(title=title, body=body, html=_html(title, body))


def digest(bodies: Sequence[str]) -> Wording:
    """Several reminders sent as one message (the digest): "3 reminders", then each
    reminder's body on a line of its own."""
    title = f"{len(bodies)} reminders"
    body = "\n".join([f"{title}:", *(f"- {line}" for line in bodies)])
    items = "".join(f"<li>{escape(line)}</li>" for line in bodies)
    html = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head>\n"
        f"<body><p>{escape(title)}:</p><ul>{items}</ul></body></html>\n"
    )
    return Wording(title=title, body=body, html=html)


def possessive(name: str) -> str:
    return f"{name.strip()}'s"  # "James's", as most style guides now write it


def common_noun(title: str) -> str:
    """A title such as "Birthday" reads "birthday" after a name; "IBM party" stays.

    A capitalised first word is taken for sentence case, not a proper noun: titles
    are mostly "Birthday", "Wedding anniversary", "Name day".
    """
    title = title.strip()
    first = title.split(" ", 1)[0]
    if len(first) > 1 and first[0].isupper() and first[1:].islower():
        return title[0].lower() + title[1:]
    return title


def relative_day(lead_days: int) -> str:
    if lead_days < 0:
        raise ValueError(f"a reminder comes before its day, not {-lead_days} days after")
    if lead_days == 0:
        return "is today"
    if lead_days == 1:
        return "is tomorrow"
    return f"is in {lead_days} days"


def calendar_date(day: date, *, sent_on: date) -> str:
    """E.g. "Saturday 28 November"; with the year when it is not the year it is sent in."""
    spelled = f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]}"
    return spelled if day.year == sent_on.year else f"{spelled} {day.year}"


def _html(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head>\n"
        f"<body><p>{escape(body)}</p></body></html>\n"
    )
