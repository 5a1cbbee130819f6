"""The ways address books write a day, read into a ``date``.

vCard: 1985-04-15, 19850415, --04-15, --0415, a time after "T" ignored; Apple's
``X-APPLE-OMIT-YEAR`` names the stand-in year of a year-less date. CSV exports:
the same ISO forms (Google), 4/15/1985 (Outlook, month first as in the US; day
first when the first number cannot be a month) and 15.04.1985 (Outlook in Europe).
A year-less date gets the year ``YEARLESS_YEAR``.
"""

from __future__ import annotations

import re
from datetime import date

from pcem.contacts.model import YEARLESS_YEAR

_TIME = r"(?:T[0-9:.,+\-Z]*)?"  # 1985-04-15T00:00:00Z: a birthday has no time
_ISO = re.compile(rf"(\d{{4}})-?(\d{{2}})-?(\d{{2}}){_TIME}")
_YEARLESS = re.compile(rf"--(\d{{2}})-?(\d{{2}}){_TIME}")
_SLASHED = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})")
_DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})")


def parse_date(text: str, omit_year: str | None = None) -> date | None:
    """The day ``text`` names, or None when it names none (a year alone, free text)."""
    text = text.strip()
    if match := _ISO.fullmatch(text):
        year, month, day = (int(part) for part in match.groups())
        if omit_year and str(year) == omit_year.strip():
            year = YEARLESS_YEAR
    elif match := _YEARLESS.fullmatch(text):
        year, month, day = YEARLESS_YEAR, int(match[1]), int(match[2])
    elif match := _SLASHED.fullmatch(text):
        month, day, year = int(match[1]), int(match[2]), _full_year(match[3])
        if month > 12:  # 15/4/1985: written day first
            month, day = day, month
    elif match := _DOTTED.fullmatch(text):
        day, month, year = int(match[1]), int(match[2]), _full_year(match[3])
    else:
        return None
    try:
        return date(year, month, day)
    except ValueError:  # 0/0/00, 1985-02-30: no such day
        return None


def format_date(day: date) -> str:
    """The day as vCard writes it: 1985-04-15, or --04-15 without a year."""
    return f"--{day:%m-%d}" if day.year == YEARLESS_YEAR else day.isoformat()


def _full_year(digits: str) -> int:
    # Two digits as strptime's %y reads them: 69-99 are 1969-1999, 00-68 are 2000-2068.
    year = int(digits)
    if len(digits) == 4:
        return year
    return year + (1900 if year >= 69 else 2000)
