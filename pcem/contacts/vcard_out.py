"""A person as a vCard 4.0 (RFC 6350): one card, text in, text out, no I/O.

Written so that PCEM's own vCard reader gives the same person back (``model`` is the
vocabulary both follow): each metadata key of the vocabulary whose value has the
vocabulary's shape becomes its vCard property (``emails`` -> ``EMAIL;TYPE=<label>``);
every other key, or a known key holding something else, becomes an ``X-`` property
named after it ("phonetic_first_name" -> ``X-PHONETIC-FIRST-NAME``): a string as
text, any other value as JSON text marked ``VALUE=text;X-PCEM-JSON=true``. A key that
cannot be spelled as a property name (or would take one of PCEM's own, ``X-PCEM-*``)
travels inside ``X-PCEM-METADATA``, as a JSON object of that one key. The person's
``primary_contact`` is ``X-PCEM-PRIMARY-CONTACT``.

Text values are escaped (backslash, comma, semicolon, line feed), parameter values
quoted when they hold a comma, semicolon or colon (with RFC 6868's caret escapes), and
every line is folded at 75 octets, never inside a UTF-8 character.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeGuard
from uuid import UUID

import msgspec

from pcem.contacts.content_lines import folded
from pcem.contacts.content_lines import text as _text
from pcem.contacts.model import ADDRESS_PARTS, METADATA_KEYS, YEARLESS_YEAR

JSON_PARAMETERS = "VALUE=text;X-PCEM-JSON=true"
PRIMARY_CONTACT = "X-PCEM-PRIMARY-CONTACT"  # the person's primary_contact, as it is
CARRIER = "X-PCEM-METADATA"  # {"<key>": value} for a key no property name can spell
_SPELLABLE_KEY = re.compile(r"[a-z0-9_]+")  # "a_b" <-> X-A-B, both ways
# Names the writer gives a meaning of their own: X-SOCIALPROFILE and PCEM's X-PCEM-*.
_RESERVED_NAMES = frozenset({"X-SOCIALPROFILE"})
_RESERVED_PREFIX = "X-PCEM-"
# What vCard text cannot hold (RFC 6350 VALUE-CHAR): control characters but tab and
# line feed (escaped as \n). A carriage return is one too: escaped, it would come back
# as a line feed, so a value with one is written as JSON, exactly.
_CONTROL = frozenset(map(chr, (*range(0x09), *range(0x0B, 0x20), 0x7F)))
_LANGUAGE_TAG = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")
_SEXES = frozenset({"M", "F", "O", "N", "U"})
# Labelled lists: property, and whether its value is a URI (written as it is).
_LABELLED = {
    "emails": ("EMAIL", False),
    "phones": ("TEL", False),
    "instant_messaging": ("IMPP", True),
    "urls": ("URL", True),
    "social_profiles": ("X-SOCIALPROFILE", True),
}
_SINGLE_TEXT = {"nickname": "NICKNAME", "job_title": "TITLE", "role": "ROLE", "timezone": "TZ"}
_SINGLE_URI = {"geo": "GEO", "photo_url": "PHOTO"}
_NAME_PARTS = ("middle_name", "name_prefix", "name_suffix")  # N's 3rd, 4th, 5th


@dataclass(frozen=True)
class CardPerson:
    """A live person and what their card tells besides the person's own fields: the
    dates of their birthday and anniversary events (``YYYY-MM-DD``, year
    ``YEARLESS_YEAR`` when unknown) and their live relationships (type, target id)."""

    id: UUID
    first_name: str
    last_name: str
    primary_contact: str | None
    metadata: dict[str, Any]
    birthday: str | None = None
    anniversary: str | None = None
    related: tuple[tuple[str, UUID], ...] = field(default=())

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


def card(person: CardPerson) -> str:
    """The person's vCard 4.0: CRLF line ends, folded."""
    metadata = dict(person.metadata)
    lines = [
        "BEGIN:VCARD",
        "VERSION:4.0",
        f"UID:urn:uuid:{person.id}",
        *_names(person, metadata),
        *_dates(person),
        *_known(metadata),
        *(f"RELATED;TYPE={_parameter(kind)}:urn:uuid:{target}" for kind, target in person.related),
        *(
            [_text_or_json(PRIMARY_CONTACT, person.primary_contact)]
            if person.primary_contact
            else []
        ),
        *(_other(key, value) for key, value in metadata.items()),
        "END:VCARD",
    ]
    return "".join(folded(line) for line in lines)


def _names(person: CardPerson, metadata: dict[str, Any]) -> Iterator[str]:
    """FN (a ``display_name`` other than the full name) and N; what they took from
    ``metadata`` is removed from it."""
    display = metadata.get("display_name")
    if _is_text(display) and display != person.full_name:  # else the reader keeps none
        yield f"FN:{_text(metadata.pop('display_name'))}"
    else:
        yield f"FN:{_text(person.full_name)}"
    parts = [metadata.pop(key) if _is_text(metadata.get(key)) else "" for key in _NAME_PARTS]
    yield "N:" + ";".join(_text(p) for p in (person.last_name, person.first_name, *parts))


def _dates(person: CardPerson) -> Iterator[str]:
    for name, day in (("BDAY", person.birthday), ("ANNIVERSARY", person.anniversary)):
        if day is not None:
            yield f"{name}:{vcard_date(date.fromisoformat(day))}"


def vcard_date(day: date) -> str:
    """``YYYYMMDD``, or ``--MMDD`` for a date kept without its year (RFC 6350 4.3.1)."""
    if day.year == YEARLESS_YEAR:
        return f"--{day.month:02d}{day.day:02d}"
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


def _known(metadata: dict[str, Any]) -> Iterator[str]:
    """The vocabulary's properties, for each key whose value has its shape; each key
    written here is removed from ``metadata``."""
    for key, (name, uri) in _LABELLED.items():
        if (items := _labelled(metadata.get(key), uri=uri)) is not None:
            del metadata[key]
            yield from (_labelled_line(name, item, uri=uri) for item in items)
    if (addresses := _addresses(metadata.get("addresses"))) is not None:
        del metadata["addresses"]
        yield from addresses
    yield from _organization(metadata)
    for key, name in _SINGLE_TEXT.items():
        if _is_text(metadata.get(key)):
            yield f"{name}:{_text(metadata.pop(key))}"
    for key, name in _SINGLE_URI.items():
        if _is_uri(metadata.get(key)):
            yield f"{name}:{metadata.pop(key)}"
    yield from _gender(metadata)
    yield from _lists(metadata)
    if _is_text(metadata.get("note")):
        yield f"NOTE:{_text(metadata.pop('note'))}"


def _labelled(value: Any, *, uri: bool) -> list[dict[str, str]] | None:
    """``value`` as ``[{"value", "label"?}]`` with usable strings, or None."""
    if not isinstance(value, list) or not value:
        return None
    for item in value:
        if not isinstance(item, dict) or not {"value"} <= set(item) <= {"value", "label"}:
            return None
        if not (_is_uri(item["value"]) if uri else _is_text(item["value"])):
            return None
        if "label" in item and not _is_text(item["label"]):
            return None
    return value


def _labelled_line(name: str, item: dict[str, str], *, uri: bool) -> str:
    parameters = ";VALUE=text" if name == "TEL" and not item["value"].startswith("tel:") else ""
    if "label" in item:
        parameters += f";TYPE={_parameter(item['label'])}"
    value = item["value"] if uri else _text(item["value"])
    return f"{name}{parameters}:{value}"


def _addresses(value: Any) -> list[str] | None:
    known = {*ADDRESS_PARTS, "label"}
    if not isinstance(value, list) or not value:
        return None
    lines = []
    for item in value:
        if not isinstance(item, dict) or not item or not set(item) <= known:
            return None
        if not all(_is_text(v) for k, v in item.items() if k != "label"):
            return None
        if "label" in item and not _is_text(item["label"]):
            return None
        label = f";TYPE={_parameter(item['label'])}" if "label" in item else ""
        parts = ";".join(_text(item.get(part, "")) for part in ADDRESS_PARTS)
        lines.append(f"ADR{label}:{parts}")
    return lines


def _organization(metadata: dict[str, Any]) -> Iterator[str]:
    """ORG: organization;department (either may be empty, a missing department left out)."""
    keys = ("organization", "department")
    texts = [metadata.pop(key) if _is_text(metadata.get(key)) else "" for key in keys]
    if any(texts):
        yield "ORG:" + ";".join(_text(t) for t in (texts if texts[1] else texts[:1]))


def _gender(metadata: dict[str, Any]) -> Iterator[str]:
    """A sex letter as GENDER's first component; any other text as its identity."""
    gender = metadata.get("gender")
    if _is_text(gender):
        del metadata["gender"]
        yield f"GENDER:{gender}" if gender in _SEXES else f"GENDER:;{_text(gender)}"


def _lists(metadata: dict[str, Any]) -> Iterator[str]:
    categories = metadata.get("categories")
    if isinstance(categories, list) and categories and all(_is_text(c) for c in categories):
        yield "CATEGORIES:" + ",".join(_text(c) for c in metadata.pop("categories"))
    languages = metadata.get("languages")
    if isinstance(languages, list) and languages and all(_is_language(t) for t in languages):
        yield from (f"LANG:{tag}" for tag in metadata.pop("languages"))


def _other(key: str, value: Any) -> str:
    """Any other metadata, under its own name: text as it is, anything else as JSON."""
    name = "X-" + key.upper().replace("_", "-")
    if (
        not _SPELLABLE_KEY.fullmatch(key)
        or name in _RESERVED_NAMES
        or name.startswith(_RESERVED_PREFIX)
    ):
        return f"{CARRIER};{JSON_PARAMETERS}:{_json({key: value})}"
    if key in METADATA_KEYS:  # a key of the vocabulary in a shape of its own: exactly
        return f"{name};{JSON_PARAMETERS}:{_json(value)}"
    return _text_or_json(name, value)


def _text_or_json(name: str, value: Any) -> str:
    if isinstance(value, str) and _CONTROL.isdisjoint(value):
        return f"{name}:{_text(value)}"
    return f"{name};{JSON_PARAMETERS}:{_json(value)}"


def _json(value: Any) -> str:
    return _text(msgspec.json.encode(value).decode())


def _is_text(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and value != "" and _CONTROL.isdisjoint(value)


def _is_uri(value: Any) -> bool:
    """A value written as it is: no escaping applies, so no character that needs it."""
    return _is_text(value) and not any(character.isspace() for character in value)


def _is_language(value: Any) -> bool:
    return isinstance(value, str) and _LANGUAGE_TAG.fullmatch(value) is not None


def _parameter(value: str) -> str:
    """A parameter value: RFC 6868's caret escapes, quoted when it holds , ; or :."""
    escaped = value.replace("^", "^^").replace('"', "^'").replace("\r\n", "^n")
    escaped = escaped.replace("\r", "^n").replace("\n", "^n")
    return f'"{escaped}"' if any(c in escaped for c in ",;:") else escaped
