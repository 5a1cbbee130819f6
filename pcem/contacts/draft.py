"""What a reader has gathered of one card or row, and the rules that make it a contact.

Both readers (vCard, CSV) feed a ``Draft`` in the vocabulary of ``model``; ``finish``
applies the rules they share: whose name the person gets (N or the given and family
names; else the formatted name; else the organisation; else the first email), when
the formatted name is worth keeping as ``display_name``, which email or phone is the
primary contact, and the length limits of the person's fields.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pcem.contacts.dates import format_date, parse_date
from pcem.contacts.model import (
    ADDRESS_PARTS,
    METADATA_KEYS,
    BadRecord,
    Contact,
    ContactDate,
    DateKind,
    Relation,
)

MAX_NAME = 100  # first_name and last_name, as the API allows them
MAX_PRIMARY_CONTACT = 200
NO_RANK = 1_000  # the preference of an email or phone nobody marked as preferred
_DATE_KINDS: tuple[DateKind, ...] = ("birthday", "anniversary")
_JOINED_BY = {"note": "\n\n"}  # a repeated text key: notes as paragraphs, others ", "
_BLANK = " \t\r\n\ufeff"


@dataclass
class Draft:
    given: str = ""
    family: str = ""
    formatted: str = ""  # vCard's FN, the old Google CSV's "Name"
    uid: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    dates: list[ContactDate] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # Keys of their own (X- properties, unknown columns): (value, label) until finish
    # decides between a string, a list and labelled items.
    extras: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # What PCEM's own export wrote exactly (JSON values, its primary contact): kept as
    # it is, over anything read the usual way.
    exact: dict[str, Any] = field(default_factory=dict)
    exact_primary: tuple[str | None] | None = None
    # The best (lowest) preference seen per labelled list, and its value.
    preferred: dict[str, tuple[int, str]] = field(default_factory=dict)

    def add_item(self, key: str, value: str, label: str = "", rank: int = NO_RANK) -> None:
        """A value of a labelled list ("emails", "phones", ...); lower ``rank`` is
        preferred, as vCard 4.0's PREF=1."""
        value = value.strip(_BLANK)
        if not value:
            return
        _append_new(self.metadata.setdefault(key, []), _labelled({"value": value}, label))
        best = self.preferred.get(key)
        if best is None or rank < best[0]:
            self.preferred[key] = (rank, value)

    def add_address(self, parts: dict[str, str], label: str = "") -> None:
        kept = {part: text for part in ADDRESS_PARTS if (text := parts.get(part, "").strip())}
        if kept:
            _append_new(self.metadata.setdefault("addresses", []), _labelled(kept, label))

    def set_text(self, key: str, value: str) -> None:
        """A single-string key; a second, different value is joined to the first."""
        value = value.strip(_BLANK)
        earlier = self.metadata.get(key)
        if not value or value == earlier:
            return
        self.metadata[key] = f"{earlier}{_JOINED_BY.get(key, ', ')}{value}" if earlier else value

    def add_words(self, key: str, values: Iterable[str]) -> None:
        """Strings of a list key ("categories", "languages"), each once."""
        for value in values:
            if value := value.strip(_BLANK):
                _append_new(self.metadata.setdefault(key, []), value)

    def add_extra(self, key: str, value: str, label: str = "") -> None:
        """A value with no key of its own in the vocabulary, under ``key``."""
        if value := value.strip(_BLANK):
            _append_new(self.extras.setdefault(key, []), (value, label))

    def add_date(self, label: str, text: str, omit_year: str | None = None) -> None:
        """The first birthday and anniversary become dates; any other date, and one that
        names no day ("circa 1800"), is kept in metadata "dates" with its label."""
        if not (text := text.strip(_BLANK)):
            return
        day = parse_date(text, omit_year)
        kind = next((kind for kind in _DATE_KINDS if kind == label.strip().lower()), None)
        if day and kind:
            if ContactDate(kind, day) in self.dates:
                return  # Apple writes an anniversary as ANNIVERSARY and as X-ABDATE
            if all(known.kind != kind for known in self.dates):
                self.dates.append(ContactDate(kind, day))
                return
        item = _labelled({"date": format_date(day) if day else text}, kind or label)
        _append_new(self.metadata.setdefault("dates", []), item)

    def add_relation(self, type_: str, uid: str | None = None, name: str | None = None) -> None:
        name = (name or "").strip(_BLANK) or None
        if uid or name:
            relation = Relation(type=type_.strip().lower() or "related", uid=uid, name=name)
            _append_new(self.relations, relation)

    def named(self, record: str) -> str:
        """``record`` with the name, once known: "card 3 (Ada Lovelace)"."""
        first, last = self._name()
        name = f"{first} {last}".strip()
        if len(name) > 60:
            name = f"{name[:59]}…"
        return f"{record} ({name})" if name else record

    def finish(self, record: str) -> Contact | BadRecord:
        first, last = self._name()
        if not first:
            return BadRecord(record, "has no name, organisation or email")
        for what, value in (("first name", first), ("last name", last)):
            if len(value) > MAX_NAME:
                return BadRecord(self.named(record), f"{what} is over {MAX_NAME} characters")
        return Contact(
            record=self.named(record),
            first_name=first,
            last_name=last,
            primary_contact=(
                self.exact_primary[0] if self.exact_primary else self._primary_contact()
            ),
            metadata=self._metadata(first, last),
            dates=self.dates,
            relations=self.relations,
            uid=self.uid or None,
            problems=self.problems,
        )

    def _name(self) -> tuple[str, str]:
        given, family = self.given.strip(_BLANK), self.family.strip(_BLANK)
        if given:
            return given, family
        if family:  # "N:Smith;;;Mr.;": the family name is all there is to call them
            return family, ""
        emails = self.metadata.get("emails") or [{"value": ""}]
        others = (self.formatted, self.metadata.get("organization", ""), emails[0]["value"])
        return next(((text.strip(_BLANK), "") for text in others if text.strip(_BLANK)), ("", ""))

    def _primary_contact(self) -> str | None:
        for key in ("emails", "phones"):
            if key in self.preferred:
                value = self.preferred[key][1]
                return value if len(value) <= MAX_PRIMARY_CONTACT else None
        return None

    def _metadata(self, first: str, last: str) -> dict[str, Any]:
        metadata: dict[str, Any] = {}
        display = " ".join(self.formatted.split())
        if display and display != " ".join(f"{first} {last}".split()):
            metadata["display_name"] = self.formatted.strip(_BLANK)
        metadata.update(self.metadata)
        for key, values in self.extras.items():
            metadata.setdefault(key, _extra_value(values))
        metadata.update(self.exact)
        return metadata


def readable_key(name: str) -> str:
    """A property or column name as a metadata key: "X-PHONETIC-FIRST-NAME" ->
    "phonetic_first_name", "Home Phone 2" -> "home_phone_2". A name that would take
    a key of the vocabulary gets "x_" in front, so the key keeps its meaning."""
    key = re.sub(r"[^a-z0-9]+", "_", name.lower().removeprefix("x-")).strip("_") or "other"
    return f"x_{key}" if key in METADATA_KEYS else key


def _extra_value(values: list[tuple[str, str]]) -> str | list[Any]:
    if any(label for _, label in values):
        return [_labelled({"value": value}, label) for value, label in values]
    return values[0][0] if len(values) == 1 else [value for value, _ in values]


def _labelled(item: dict[str, str], label: str) -> dict[str, str]:
    return {**item, "label": label.strip()} if label.strip() else item


def _append_new(items: list[Any], item: Any) -> None:
    if item not in items:
        items.append(item)
