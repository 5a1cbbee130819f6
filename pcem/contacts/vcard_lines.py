"""vCard files as cards of properties: splitting, unfolding, parameters, decoding.

Works on bytes until a property's value is decoded, because vCard 2.1 gives each
property its own CHARSET (Outlook writes windows-1252 bytes, raw or quoted-printable,
into otherwise ASCII files) and 3.0/4.0 may fold a line inside a UTF-8 character.
Unfolding: a line starting with a space or tab continues the one before (3.0 and 4.0
drop that one character, 2.1 keeps it, as RFC 822 folding does); a quoted-printable
line ending in "=" continues on the next line whatever it starts with.
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from pcem.contacts.charsets import as_utf8, decode_text

_LINE_END = re.compile(rb"\r\n|\r|\n")
_BEGIN = re.compile(rb"begin:vcard\s*", re.IGNORECASE)
_END = re.compile(rb"end:vcard\s*", re.IGNORECASE)
_VERSION = re.compile(rb"version:\s*([0-9.]+)", re.IGNORECASE)
_AGENT = re.compile(rb"agent[^:]*:\s*", re.IGNORECASE)  # 2.1/3.0: a card inside a card
_NAME = re.compile(r"(?:([A-Za-z0-9-]+)\.)?([A-Za-z0-9-]+)")
_PARAM = re.compile(r'(?:[^;"]|"[^"]*")+')  # one ;-separated parameter, quotes kept whole
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_PARAM_ESCAPE = re.compile(r"\^(.)")  # RFC 6868: ^n, ^' and ^^ in parameter values
# Bare 2.1 parameters ("TEL;HOME;VOICE", "NOTE;QUOTED-PRINTABLE") are encodings or types.
_ENCODINGS = {"QUOTED-PRINTABLE", "BASE64", "B", "8BIT", "7BIT"}


@dataclass
class RawCard:
    """The physical lines between BEGIN:VCARD and END:VCARD."""

    number: int  # 1-based, in the file
    lines: list[bytes] = field(default_factory=list)
    complete: bool = False  # END:VCARD was found
    nested: int = 0  # cards inside it (2.1/3.0 AGENT), left out

    @property
    def version(self) -> str:
        for line in self.lines:
            if match := _VERSION.fullmatch(line.strip()):
                return match[1].decode("ascii")
        return ""


@dataclass(frozen=True)
class Property:
    group: str  # lower case, "" for none
    name: str  # upper case
    params: dict[str, list[str]]  # names upper case; TYPE values lower case
    raw: bytes  # the value as written, unfolded

    def param(self, name: str) -> str | None:
        values = self.params.get(name)
        return values[0] if values else None

    @property
    def types(self) -> list[str]:
        return self.params.get("TYPE", [])

    @property
    def is_binary(self) -> bool:
        encoding = (self.param("ENCODING") or "").upper()
        return encoding in {"B", "BASE64"} or self.raw[:5].lower() == b"data:"

    @property
    def binary_size(self) -> int:
        """The decoded size of a binary value, in bytes."""
        data = self.raw.split(b",", 1)[1] if self.raw[:5].lower() == b"data:" else self.raw
        try:
            return len(base64.b64decode(re.sub(rb"\s+", b"", data)))
        except (binascii.Error, ValueError):
            return len(data)

    def decoded(self) -> str:
        """The value as text, escapes still in it."""
        raw = self.raw
        if (self.param("ENCODING") or "").upper() == "QUOTED-PRINTABLE":
            raw = quopri.decodestring(raw)
        text = decode_text(raw, self.param("CHARSET"))
        return text.replace("\r\n", "\n").replace("\r", "\n")

    def text(self) -> str:
        return unescape(self.decoded())

    def components(self) -> list[list[str]]:
        """A structured value (N, ADR, ORG): its ;-separated parts, each a ,-list."""
        return [
            [unescape(value) for value in split_unescaped(part, ",")]
            for part in split_unescaped(self.decoded(), ";")
        ]

    def values(self) -> list[str]:
        """A ,-list value (CATEGORIES, NICKNAME)."""
        return [unescape(value) for value in split_unescaped(self.decoded(), ",")]


class MalformedLine(ValueError):
    pass


def split_cards(data: bytes) -> Iterator[RawCard]:
    """The cards of a file, in order; lines outside a card are ignored. A card cut
    short (the file ends, or a new card begins before END:VCARD) is incomplete."""
    card: RawCard | None = None
    count = depth = 0  # depth: inside a card inside the card (AGENT)
    for line in _LINE_END.split(as_utf8(data)):
        line = line.removeprefix(b"\xef\xbb\xbf")  # the BOM of a file appended to another
        if _BEGIN.fullmatch(line):
            if card is not None and (depth or (card.lines and _AGENT.fullmatch(card.lines[-1]))):
                depth += 1
                card.nested += depth == 1
                continue
            if card is not None:
                yield card
            count += 1
            card = RawCard(count)
        elif card is not None and _END.fullmatch(line):
            if depth:
                depth -= 1
                continue
            card.complete = True
            yield card
            card = None
        elif card is not None and not depth:
            card.lines.append(line)
    if card is not None:
        yield card


def unfold(lines: list[bytes], keep_space: bool) -> list[bytes]:
    logical: list[list[bytes]] = []
    for line in lines:
        last = logical[-1] if logical else None
        if last is not None and _soft_break(last):
            last[-1] = last[-1][:-1]
            last.append(line)
        elif last is not None and line[:1] in (b" ", b"\t"):
            last.append(line if keep_space else line[1:])
        elif line.strip():
            logical.append([line])
    return [b"".join(parts) for parts in logical]


def parse_line(line: bytes) -> Property:
    """One unfolded content line: [group.]NAME[;param...]:value."""
    colon = _value_start(line)
    head = decode_text(line[:colon])
    match = _NAME.match(head)
    if colon < 0 or match is None or head[match.end() : match.end() + 1] not in ("", ";"):
        raise MalformedLine(decode_text(line[:60]))
    params = _params(head[match.end() + 1 :]) if match.end() < len(head) else {}
    return Property((match[1] or "").lower(), match[2].upper(), params, line[colon + 1 :])


def unescape(text: str) -> str:
    return _ESCAPE.sub(lambda match: "\n" if match[1] in "nN" else match[1], text)


def split_unescaped(text: str, separator: str) -> list[str]:
    """``text`` split at each ``separator`` that no backslash escapes."""
    parts, start, index = [], 0, 0
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        if text[index] == separator:
            parts.append(text[start:index])
            start = index + 1
        index += 1
    return [*parts, text[start:]]


def _soft_break(parts: list[bytes]) -> bool:
    if not parts[-1].endswith(b"="):
        return False
    head = parts[0].split(b":", 1)[0].upper()
    return b"QUOTED-PRINTABLE" in head


def _value_start(line: bytes) -> int:
    """Where the first colon outside double quotes is (parameters may quote one)."""
    quoted = False
    for index, byte in enumerate(line):
        if byte == 0x22:
            quoted = not quoted
        elif byte == 0x3A and not quoted:
            return index
    return -1


def _params(text: str) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for param in _PARAM.findall(text):
        name, has_value, value = param.partition("=")
        name = name.strip().upper()
        if not has_value:
            name, value = ("ENCODING" if name in _ENCODINGS else "TYPE"), name
        values = [_param_value(part) for part in re.findall(r'"[^"]*"|[^,]+', value)]
        if name == "TYPE":
            values = [part.lower() for value in values for part in value.split(",")]
        params.setdefault(name, []).extend(value for value in values if value)
    return params


def _param_value(value: str) -> str:
    value = value.strip().removeprefix('"').removesuffix('"')
    return _PARAM_ESCAPE.sub(lambda match: {"n": "\n", "'": '"'}.get(match[1], match[1]), value)
