"""What each column of Google's and Outlook's contact CSV exports means to PCEM.

Google numbers repeated fields ("E-mail 1 - Label", "E-mail 1 - Value"; the older
export says "Type" for "Label"), writes several values of one label into one cell
separated by " ::: ", and marks a primary value's label with "* " ("* Home"; in
"Labels", a system group: "* My Contacts"). Outlook has a column a field ("Mobile
Phone", "Home Street 2"), writes its empty dates as "0/0/00", and fills a few columns
on every contact with defaults (Gender "Unspecified", Priority and Sensitivity
"Normal", Private "False"), which are left out as the empty values they mean.

Left out, as Outlook's own bookkeeping: "E-mail Type" (SMTP or EX, how Outlook
sends to the address) and "E-mail Display Name" (Outlook composes it from the name
and the address); and Google's "Address N - Formatted" when the address has parts
(it is those parts laid out). Any other column is kept under a readable key: its
name's (a custom field: its label's) slug.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pcem.contacts.draft import NO_RANK, Draft, readable_key

Fill = Callable[[Draft, str], None]

_NUMBERED = re.compile(r"(.+?) (\d+) - (.+)")  # Google: "E-mail 1 - Value"
_OUTLOOK_ADDRESS = re.compile(
    r"(business|home|other) (street(?: [23])?|city|state|postal code|country/region|address po box)"
)
_MULTIPLE = re.compile(r"\s*:::\s*")
_EMPTY_DATE = re.compile(r"0{1,2}[/.]0{1,2}[/.]0{2,4}")  # Outlook's "no date"
_DEFAULTS = {
    "gender": "unspecified",
    "priority": "normal",
    "sensitivity": "normal",
    "private": "false",
}
# Google's own labels, written capitalised in the CSV and in lower case in its vCards.
_GOOGLE_LABELS = {"home", "work", "other", "mobile", "main", "home fax", "work fax", "pager"}
_GOOGLE_LABELS |= {"homepage", "home page", "blog", "profile", "ftp", "anniversary"}
_ADDRESS_PARTS = {
    "street": "street",
    "extended address": "extended",
    "po box": "po_box",
    "city": "locality",
    "region": "region",
    "postal code": "postal_code",
    "country": "country",
}
_OUTLOOK_ADDRESS_PARTS = {"city": "locality", "state": "region", "postal code": "postal_code"}
_OUTLOOK_ADDRESS_PARTS |= {"country/region": "country", "address po box": "po_box"}
_OUTLOOK_LABELS = {"business": "work", "home": "home", "other": "other"}
NAME_COLUMNS = {"first name", "given name", "last name", "family name", "name", "display name"}


def fill(draft: Draft, header: list[str], row: list[str]) -> None:
    """Everything of one row, by its columns' names, into ``draft``."""
    numbered: dict[tuple[str, str], dict[str, str]] = {}
    addresses: dict[str, dict[str, str]] = {}
    for name, value in zip(header, row, strict=False):
        column, value = name.strip().lower(), value.strip()
        if not value or _DEFAULTS.get(column) == value.lower() or _EMPTY_DATE.fullmatch(value):
            continue
        if match := _NUMBERED.fullmatch(column):
            numbered.setdefault((match[1], match[2]), {})[match[3]] = value
        elif match := _OUTLOOK_ADDRESS.fullmatch(column):
            _outlook_address(addresses.setdefault(match[1], {}), match[2], value)
        else:
            (_COLUMNS.get(column) or _other(name))(draft, value)
    for (kind, _number), parts in numbered.items():
        _GROUPS.get(kind, _other_group(kind))(draft, parts)
    for place, parts in addresses.items():
        draft.add_address(parts, _OUTLOOK_LABELS[place])


def split(value: str) -> list[str]:
    return [part for part in _MULTIPLE.split(value) if part.strip()]


def _label(text: str) -> tuple[str, int]:
    """A Google label and the preference it marks: "* Home" -> ("home", 1)."""
    label = text.strip().removeprefix("* ").strip()
    rank = 1 if text.strip().startswith("* ") else NO_RANK
    return (label.lower() if label.lower() in _GOOGLE_LABELS else label), rank


def _labelled_values(parts: dict[str, str]) -> list[tuple[str, int, str]]:
    """(label, rank, value) for each of a group's values; one label for all of them
    unless there are as many labels as values."""
    values = split(parts.get("value", ""))
    labels = split(parts.get("label") or parts.get("type") or "") or [""]
    if len(labels) != len(values):
        labels = labels[:1] + [labels[0].removeprefix("* ")] * (len(values) - 1)
    return [(*_label(label), value) for label, value in zip(labels, values, strict=False)]


def _items(key: str) -> Callable[[Draft, dict[str, str]], None]:
    def add(draft: Draft, parts: dict[str, str]) -> None:
        for label, rank, value in _labelled_values(parts):
            draft.add_item(key, value, label, rank)

    return add


def _address(draft: Draft, parts: dict[str, str]) -> None:
    label, _rank = _label(parts.get("label") or parts.get("type") or "")
    split_parts = {
        _ADDRESS_PARTS[part]: split(text) for part, text in parts.items() if part in _ADDRESS_PARTS
    }
    if not split_parts and parts.get("formatted"):
        split_parts = {"street": split(parts["formatted"])}
    for index in range(max((len(values) for values in split_parts.values()), default=0)):
        draft.add_address(
            {part: values[index] for part, values in split_parts.items() if index < len(values)},
            label,
        )


def _organization(draft: Draft, parts: dict[str, str]) -> None:
    keys = {"name": "organization", "title": "job_title", "department": "department"}
    for part, value in parts.items():
        if part in keys:
            draft.set_text(keys[part], value)
        else:  # Google's old export: "Organization 1 - Symbol", "- Location", ...
            draft.add_extra(readable_key(f"organization {part}"), value)


def _relation(draft: Draft, parts: dict[str, str]) -> None:
    for label, _rank, name in _labelled_values(parts):
        draft.add_relation(label or "related", name=name)


def _event(draft: Draft, parts: dict[str, str]) -> None:
    for label, _rank, value in _labelled_values(parts):
        draft.add_date(label, value)  # "Anniversary" is the anniversary


def _custom_field(draft: Draft, parts: dict[str, str]) -> None:
    label = parts.get("label") or parts.get("type") or ""
    draft.add_extra(readable_key(label) if label else "custom_field", parts.get("value", ""))


def _messenger(draft: Draft, parts: dict[str, str]) -> None:
    service = parts.get("service", "")
    for label, rank, value in _labelled_values(parts):
        draft.add_item("instant_messaging", value, ", ".join(filter(None, (service, label))), rank)


def _other_group(kind: str) -> Callable[[Draft, dict[str, str]], None]:
    def add(draft: Draft, parts: dict[str, str]) -> None:
        for part, value in parts.items():
            draft.add_extra(readable_key(f"{kind} {part}"), value)

    return add


def _outlook_address(address: dict[str, str], part: str, value: str) -> None:
    if part.startswith("street"):  # "Home Street 2": the address's next line
        address["street"] = f"{address['street']}\n{value}" if "street" in address else value
    else:
        address[_OUTLOOK_ADDRESS_PARTS[part]] = value


def _given(draft: Draft, value: str) -> None:
    draft.given = value


def _family(draft: Draft, value: str) -> None:
    draft.family = value


def _formatted(draft: Draft, value: str) -> None:
    draft.formatted = value


def _text(key: str) -> Fill:
    return lambda draft, value: draft.set_text(key, value)


def _words(key: str) -> Fill:
    def add(draft: Draft, value: str) -> None:
        draft.add_words(
            key, [part.strip().removeprefix("* ") for part in re.split(r":::|;", value)]
        )

    return add


def _date(kind: str) -> Fill:
    return lambda draft, value: draft.add_date(kind, value)


def _item(key: str, label: str = "", rank: int = NO_RANK) -> Fill:
    def add(draft: Draft, value: str) -> None:
        for part in split(value):
            draft.add_item(key, part, label, rank)

    return add


def _related(type_: str, separators: str = "") -> Fill:
    def add(draft: Draft, value: str) -> None:
        for name in re.split(f"[{separators}]", value) if separators else [value]:
            draft.add_relation(type_, name=name)

    return add


def _other(column: str) -> Fill:
    return lambda draft, value: draft.add_extra(readable_key(column), value)


def _dropped(_draft: Draft, _value: str) -> None:
    pass


_OUTLOOK_PHONES = {
    "mobile phone": "cell",  # the labels Outlook's own vCards give these numbers
    "home phone": "home",
    "home phone 2": "home",
    "business phone": "work",
    "business phone 2": "work",
    "business fax": "work, fax",
    "home fax": "home, fax",
    "other fax": "other, fax",
    "other phone": "other",
    "pager": "pager",
    "car phone": "car",
    "isdn": "isdn",
    "company main phone": "company main",
    "assistant's phone": "assistant",
    "callback": "callback",
    "radio phone": "radio",
    "telex": "telex",
    "tty/tdd phone": "tty/tdd",
}
_OUTLOOK_EMAILS = ("e-mail address", "e-mail 2 address", "e-mail 3 address")
_OUTLOOK_DROPPED = [
    f"e-mail{n} {what}" for n in ("", " 2", " 3") for what in ("type", "display name")
]

_COLUMNS: dict[str, Fill] = {
    **dict.fromkeys(("first name", "given name"), _given),
    **dict.fromkeys(("last name", "family name"), _family),
    **dict.fromkeys(("name", "display name"), _formatted),
    **dict.fromkeys(("middle name", "additional name"), _text("middle_name")),
    **dict.fromkeys(("name prefix", "title"), _text("name_prefix")),  # Outlook's Title: "Dr."
    **dict.fromkeys(("name suffix", "suffix"), _text("name_suffix")),
    "nickname": _text("nickname"),
    **dict.fromkeys(("organization name", "company"), _text("organization")),
    **dict.fromkeys(("organization title", "job title"), _text("job_title")),
    **dict.fromkeys(("organization department", "department"), _text("department")),
    "notes": _text("note"),
    "gender": _text("gender"),
    "photo": _text("photo_url"),
    **dict.fromkeys(("labels", "group membership", "categories"), _words("categories")),
    "language": _words("languages"),
    "birthday": _date("birthday"),
    "anniversary": _date("anniversary"),
    **dict.fromkeys(_OUTLOOK_EMAILS, _item("emails")),
    **{column: _item("phones", label) for column, label in _OUTLOOK_PHONES.items()},
    "primary phone": _item("phones", rank=1),
    "web page": _item("urls"),
    "personal web page": _item("urls", "personal"),
    **dict.fromkeys(("imaddress", "im address"), _item("instant_messaging")),
    "spouse": _related("spouse"),
    "children": _related("child", ",;"),
    "manager's name": _related("manager"),
    "assistant's name": _related("assistant"),
    **dict.fromkeys(_OUTLOOK_DROPPED, _dropped),
}
_GROUPS: dict[str, Callable[[Draft, dict[str, str]], None]] = {
    "e-mail": _items("emails"),
    "phone": _items("phones"),
    "website": _items("urls"),
    "address": _address,
    "organization": _organization,
    "relation": _relation,
    "event": _event,
    "custom field": _custom_field,
    "im": _messenger,
}
