"""vCard 2.1, 3.0 and 4.0 files, read into contacts.

Each property goes where ``model`` says: N and FN make the name; EMAIL, TEL, URL,
IMPP (and the older X-AIM, X-JABBER, ...) and X-SOCIALPROFILE the labelled lists;
BDAY, ANNIVERSARY and Apple's X-ABDATE the dates; RELATED, Apple's
X-ABRELATEDNAMES and the X-SPOUSE kind the relations. A label is a group's
X-ABLabel (Apple, Google: ``_$!<HomePage>!$_`` -> "homepage", a custom one as
written) or else the TYPE values other than pref, internet, voice and x400. Any
other property is kept under a readable key of its own.

Left out, as facts about the file rather than the person: VERSION, PRODID, REV,
X-ABUID, CLIENTPIDMAP, 3.0's NAME and PROFILE, KIND:individual (any other KIND is
kept), Apple's X-ABLabel (it labels its group) and X-ABADR (the country whose layout
an address uses), Outlook's X-MS-OL-DESIGN (its business-card layout) and
X-MS-OL-DEFAULT-POSTAL-ADDRESS (which of its address slots it mails to), and LABEL
when the card has an ADR (LABEL is that address formatted for an envelope). Binary PHOTO,
LOGO, SOUND and KEY values, and cards inside a card (AGENT), are not stored: each is
named in the contact's problems.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

from pcem.contacts.draft import NO_RANK, Draft, readable_key
from pcem.contacts.model import ADDRESS_PARTS, BadRecord, Contact
from pcem.contacts.vcard_lines import (
    MalformedLine,
    Property,
    RawCard,
    parse_line,
    split_cards,
    unfold,
)
from pcem.contacts.vcard_out import CARRIER, PRIMARY_CONTACT

Handler = Callable[[Draft, Property, str], None]  # the label: its group's X-ABLabel

_NOT_LABELS = {"pref", "internet", "voice", "x400"}
_APPLE_LABEL = re.compile(r"_\$!<(.*)>!\$_")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S")
PCEM_PREFIX = "X-PCEM-"  # PCEM's own properties (its export)
JSON_PARAMETER = "X-PCEM-JSON"
_DROPPED = {"VERSION", "PRODID", "REV", "X-ABUID", "CLIENTPIDMAP", "NAME", "PROFILE"}
_DROPPED |= {"X-ABLABEL", "X-ABADR", "X-MS-OL-DESIGN", "X-MS-OL-DEFAULT-POSTAL-ADDRESS"}
_DROPPED |= {"LABEL"}  # see _envelopes
_GROUP_KINDS = {"KIND", "X-ADDRESSBOOKSERVER-KIND"}
# Instant messaging as written before IMPP, and the URI scheme IMPP gives each.
_IM_SCHEMES = {
    "X-AIM": "aim",
    "X-ICQ": "icq",
    "X-JABBER": "xmpp",
    "X-GOOGLE-TALK": "xmpp",
    "X-GTALK": "xmpp",
    "X-MSN": "msnim",
    "X-YAHOO": "ymsgr",
    "X-SKYPE": "skype",
    "X-SKYPE-USERNAME": "skype",
    "X-QQ": "qq",
    "X-GADUGADU": "gg",
}
_RELATION_TYPES = {
    **dict.fromkeys(("X-SPOUSE", "X-EVOLUTION-SPOUSE", "X-MS-SPOUSE"), "spouse"),
    "X-KADDRESSBOOK-X-SPOUSESNAME": "spouse",
    **dict.fromkeys(("X-ASSISTANT", "X-EVOLUTION-ASSISTANT", "X-MS-ASSISTANT"), "assistant"),
    "X-KADDRESSBOOK-X-ASSISTANTSNAME": "assistant",
    **dict.fromkeys(("X-MANAGER", "X-EVOLUTION-MANAGER", "X-MS-MANAGER"), "manager"),
    "X-KADDRESSBOOK-X-MANAGERSNAME": "manager",
    **dict.fromkeys(("X-MS-CHILD", "X-CHILD"), "child"),
}
_ANNIVERSARIES = (
    "ANNIVERSARY",
    "X-ANNIVERSARY",
    "X-EVOLUTION-ANNIVERSARY",
    "X-MS-ANNIVERSARY",
    "X-KADDRESSBOOK-X-ANNIVERSARY",
)
# Keys that say what the same field is called elsewhere (Google's CSV "Maiden Name").
_KEYS = {"X-MAIDENNAME": "maiden_name", "X-ABSHOWAS": "show_as", "X-EVOLUTION-FILE-AS": "file_as"}


def read_vcards(data: bytes) -> Iterator[Contact | BadRecord]:
    """Every card of ``data``, in order: a contact, or a bad record saying why not."""
    for card in split_cards(data):
        try:
            yield _read(card)
        except Exception as error:  # a bug of ours on one odd card must not lose the file
            yield BadRecord(f"card {card.number}", f"could not be read ({error!r})")


def count_vcards(data: bytes) -> int:
    """How many records ``read_vcards`` gives, without reading their properties."""
    return sum(1 for _ in split_cards(data))


def _read(card: RawCard) -> Contact | BadRecord:
    record, draft = f"card {card.number}", Draft()
    properties, malformed = _parse(card)
    labels = {prop.group: _label(prop.text()) for prop in properties if prop.name == "X-ABLABEL"}
    for prop in properties:
        label = labels.get(prop.group, "") if prop.group else ""
        if prop.name.startswith(PCEM_PREFIX) or _as_json(prop):
            _exact(draft, prop)
        else:
            _HANDLERS.get(prop.name, _other)(draft, prop, label)
    _envelopes(draft, [prop for prop in properties if prop.name == "LABEL"])
    draft.problems.extend(["agent not stored (a card inside the card)"] * card.nested)
    if malformed:
        return BadRecord(draft.named(record), f'has a line that is not a property: "{malformed}"')
    if not card.complete:
        return BadRecord(draft.named(record), "has no END:VCARD (the file may be cut short)")
    if any(
        prop.name in _GROUP_KINDS and prop.text().strip().lower() == "group" for prop in properties
    ):
        return BadRecord(draft.named(record), "is a group of contacts (KIND:group), not a person")
    return draft.finish(record)


def _parse(card: RawCard) -> tuple[list[Property], str]:
    """The card's properties, and the first line that is none ("" if all are)."""
    properties, malformed = [], ""
    for line in unfold(card.lines, keep_space=card.version == "2.1"):
        try:
            properties.append(parse_line(line))
        except MalformedLine as error:
            malformed = malformed or str(error)
    return properties, malformed


def _label(text: str) -> str:
    match = _APPLE_LABEL.fullmatch(text.strip())
    return match[1].lower() if match else text.strip()


def _type_label(prop: Property) -> str:
    return ", ".join(dict.fromkeys(t for t in prop.types if t not in _NOT_LABELS))


def _rank(prop: Property) -> int:
    """1 for TYPE=pref; vCard 4.0's PREF=n as n; else NO_RANK."""
    pref = prop.param("PREF") or ""
    if pref.isdigit():
        return int(pref)
    return 1 if "pref" in prop.types else NO_RANK


def _labelled(key: str, scheme: str = "") -> Handler:
    def add(draft: Draft, prop: Property, label: str) -> None:
        value = prop.text().strip()
        if scheme and value.lower().startswith(scheme):  # TEL;VALUE=uri:tel:+1...
            value = value[len(scheme) :]
        draft.add_item(key, value, label or _type_label(prop), _rank(prop))

    return add


def _messenger(draft: Draft, prop: Property, label: str) -> None:
    value = f"{_IM_SCHEMES[prop.name]}:{prop.text().strip()}"  # as IMPP would write it
    draft.add_item("instant_messaging", value, label or _type_label(prop), _rank(prop))


def _text(key: str) -> Handler:
    return lambda draft, prop, _label: draft.set_text(key, prop.text())


def _formatted_name(draft: Draft, prop: Property, label: str) -> None:
    if draft.formatted:  # 4.0 allows one per language: the first is the name
        draft.add_extra("formatted_name", prop.text(), label)
    else:
        draft.formatted = prop.text().strip()


def _name(draft: Draft, prop: Property, _label: str) -> None:
    parts = [" ".join(v.strip() for v in values if v.strip()) for values in prop.components()]
    family, given, middle, prefix, suffix = (*parts, "", "", "", "", "")[:5]
    draft.family, draft.given = family, given
    for key, value in (("middle_name", middle), ("name_prefix", prefix), ("name_suffix", suffix)):
        draft.set_text(key, value)


def _address(draft: Draft, prop: Property, label: str) -> None:
    parts = [", ".join(v.strip() for v in values if v.strip()) for values in prop.components()]
    draft.add_address(dict(zip(ADDRESS_PARTS, parts, strict=False)), label or _type_label(prop))


def _envelopes(draft: Draft, labels: list[Property]) -> None:
    if "addresses" not in draft.metadata:  # else LABEL only repeats an ADR
        for prop in labels:
            draft.add_address({"street": prop.text()}, _type_label(prop))


def _organization(draft: Draft, prop: Property, _label: str) -> None:
    units = [", ".join(v.strip() for v in values if v.strip()) for values in prop.components()]
    draft.set_text("organization", units[0])
    draft.set_text("department", ", ".join(unit for unit in units[1:] if unit))


def _date(kind: str) -> Handler:
    def add(draft: Draft, prop: Property, label: str) -> None:
        draft.add_date(kind or label or _type_label(prop), prop.text(), _omitted_year(prop))

    return add


def _omitted_year(prop: Property) -> str | None:
    return prop.param("X-APPLE-OMIT-YEAR")


def _related(draft: Draft, prop: Property, _label: str) -> None:
    value = prop.text().strip()
    uri = (prop.param("VALUE") or "").lower() != "text" and _URI.match(value)
    for type_ in [t for t in prop.types if t != "pref"] or ["related"]:
        if uri:
            draft.add_relation(type_, uid=_uid(value))
        else:
            draft.add_relation(type_, name=value)


def _related_name(draft: Draft, prop: Property, label: str) -> None:
    type_ = _RELATION_TYPES.get(prop.name) or label or _type_label(prop)
    draft.add_relation(type_, name=prop.text())


def _media(draft: Draft, prop: Property, label: str) -> None:
    what = prop.name.lower()
    if prop.is_binary:
        size = prop.binary_size
        shown = f"{size} bytes" if size < 1024 else f"{round(size / 1024)} KB"
        draft.problems.append(f"{what} not stored (binary, {shown})")
    elif prop.name == "PHOTO":
        draft.set_text("photo_url", prop.text())
    else:
        draft.add_extra(what, prop.text(), label or _type_label(prop))


def _set_uid(draft: Draft, prop: Property, _label: str) -> None:
    draft.uid = _uid(prop.text())


def _uid(value: str) -> str:
    """A UID as RELATED points to it: 4.0 writes "urn:uuid:…" where 3.0 writes "…"."""
    value = value.strip()
    return value[9:] if value.lower().startswith("urn:uuid:") else value


def _kind(draft: Draft, prop: Property, label: str) -> None:
    if prop.text().strip().lower() not in {"individual", "group"}:  # group: see _read
        draft.add_extra("kind", prop.text(), label)


def _exact(draft: Draft, prop: Property) -> None:
    """What PCEM's own export wrote (``pcem.contacts.vcard_out``), taken exactly: a
    JSON value under the key its name spells, the keys ``X-PCEM-METADATA`` carries,
    the person's primary contact."""
    try:
        value = json.loads(prop.text()) if _as_json(prop) else prop.text()
    except ValueError:
        draft.problems.append(f"{prop.name} is not the JSON it says it is; not stored")
        return
    if prop.name == PRIMARY_CONTACT:
        draft.exact_primary = (value if isinstance(value, str) else None,)
    elif prop.name == CARRIER and isinstance(value, dict):
        draft.exact.update(value)
    elif not prop.name.startswith(PCEM_PREFIX):
        draft.exact[prop.name.lower().removeprefix("x-").replace("-", "_")] = value


def _as_json(prop: Property) -> bool:
    return (prop.param(JSON_PARAMETER) or "").lower() == "true"


def _dropped(_draft: Draft, _prop: Property, _label: str) -> None:
    pass


def _other(draft: Draft, prop: Property, label: str) -> None:
    key = _KEYS.get(prop.name) or readable_key(prop.name)
    draft.add_extra(key, prop.text(), label or _type_label(prop))


_HANDLERS: dict[str, Handler] = {
    **dict.fromkeys(_DROPPED, _dropped),
    **dict.fromkeys(_GROUP_KINDS, _kind),
    "UID": _set_uid,
    "FN": _formatted_name,
    "N": _name,
    "EMAIL": _labelled("emails", "mailto:"),
    "TEL": _labelled("phones", "tel:"),
    "URL": _labelled("urls"),
    "IMPP": _labelled("instant_messaging"),
    "X-MS-IMADDRESS": _labelled("instant_messaging"),  # as Outlook's CSV "IMAddress"
    "X-SOCIALPROFILE": _labelled("social_profiles"),
    **dict.fromkeys(_IM_SCHEMES, _messenger),
    "ADR": _address,
    "ORG": _organization,
    "TITLE": _text("job_title"),
    "ROLE": _text("role"),
    "NOTE": _text("note"),
    "GENDER": _text("gender"),
    "X-GENDER": _text("gender"),
    "TZ": _text("timezone"),
    "GEO": _text("geo"),
    "NICKNAME": lambda draft, prop, _: draft.set_text("nickname", ", ".join(prop.values())),
    "CATEGORIES": lambda draft, prop, _: draft.add_words("categories", prop.values()),
    "LANG": lambda draft, prop, _: draft.add_words("languages", [prop.text()]),
    "BDAY": _date("birthday"),
    **dict.fromkeys(_ANNIVERSARIES, _date("anniversary")),
    "X-ABDATE": _date(""),
    "RELATED": _related,
    "X-ABRELATEDNAMES": _related_name,
    **dict.fromkeys(_RELATION_TYPES, _related_name),
    **dict.fromkeys(("PHOTO", "LOGO", "SOUND", "KEY"), _media),
}
