"""One contact of an imported file, as PCEM will keep it.

The readers (vCard, CSV) produce ``Contact``; the import job turns it into a
person (``first_name``, ``last_name``, ``primary_contact``, ``metadata``), special
yearly all-day events (``dates``) and relationships (``relations``, resolved
against the other contacts of the same file). The metadata keys are readable and
fixed (``METADATA_KEYS``), so the vCard writer can give every one of them back.

Year-less dates: a birthday known only by month and day is kept with the year
``YEARLESS_YEAR`` (1604, as Apple Contacts and Google write it: a leap year, so
29 February stays a real date). Every yearly computation only looks at month and
day, so upcoming occurrences, reminders and the calendar feed are right as they
are; the vCard writer gives such a date back as ``--MMDD``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

YEARLESS_YEAR = 1604

DateKind = Literal["birthday", "anniversary"]
# The title of the special yearly event each kind of date becomes.
DATE_TITLES: dict[DateKind, str] = {"birthday": "Birthday", "anniversary": "Anniversary"}

# Multi-valued properties: lists of {"value": str, "label": str (optional)}, e.g.
# "emails": [{"value": "ada@example.org", "label": "work"}]. Compared as sets.
LABELLED_LISTS = ("emails", "phones", "urls", "instant_messaging", "social_profiles")
# "addresses": lists of {"label"?, "po_box"?, "extended"?, "street"?, "locality"?,
# "region"?, "postal_code"?, "country"?} (empty parts left out).
ADDRESS_PARTS = ("po_box", "extended", "street", "locality", "region", "postal_code", "country")
# Single strings.
TEXT_KEYS = (
    "display_name",  # FN, when it is not simply "first last"
    "middle_name",
    "name_prefix",
    "name_suffix",
    "nickname",
    "organization",
    "department",
    "job_title",
    "role",
    "note",
    "gender",
    "timezone",
    "geo",
    "photo_url",  # a PHOTO given by URL (binary photos are not stored)
)
# Lists of strings.
TEXT_LISTS = ("categories", "languages")
# "related": [{"name": str, "label"?: str}] for relations to someone not in the file;
# "dates": [{"date": "YYYY-MM-DD" or "--MM-DD", "label"?: str}] for other dates. A date
# that names no day ("BDAY;VALUE=text:circa 1800", a year alone) is kept here too, its
# "date" the file's own text and its "label" what it was ("birthday"): never dropped.
# Anything else a card holds (X-… extensions, rare properties, CSV custom fields) is
# kept under its own readable key: "X-PHONETIC-FIRST-NAME" -> "phonetic_first_name",
# a string, or a list when repeated, or {"value", "label"} items when labelled.
METADATA_KEYS = (*LABELLED_LISTS, "addresses", *TEXT_KEYS, *TEXT_LISTS, "related", "dates")


@dataclass(frozen=True)
class ContactDate:
    kind: DateKind
    day: date  # year YEARLESS_YEAR when the file gave none

    @property
    def yearless(self) -> bool:
        return self.day.year == YEARLESS_YEAR


@dataclass(frozen=True)
class Relation:
    """A relation to another contact, named by its UID or its name; ``type`` is the
    relationship's type, e.g. "spouse", "child" (lower case)."""

    type: str
    uid: str | None = None
    name: str | None = None


@dataclass
class Contact:
    """One card or CSV row, read. ``record`` names it in problems ("card 3",
    "row 5"); ``problems`` are what could not be kept (a binary photo), never fatal."""

    record: str
    first_name: str
    last_name: str = ""
    primary_contact: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    dates: list[ContactDate] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    uid: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        """How the contact is recognised again: its UID, or without one its name and
        first email or phone."""
        if self.uid:
            return f"uid:{self.uid}"
        contact = _first_value(self.metadata, "emails") or _first_value(self.metadata, "phones")
        return f"name:{self.first_name}\x00{self.last_name}\x00{contact or ''}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True)
class BadRecord:
    """A card or row that cannot become a person (no name at all, a field over its
    limit): skipped and named in the import's problems."""

    record: str
    message: str


def _first_value(metadata: dict[str, Any], key: str) -> str | None:
    items = metadata.get(key)
    if isinstance(items, list) and items and isinstance(items[0], dict):
        value = items[0].get("value")
        return value if isinstance(value, str) else None
    return None
