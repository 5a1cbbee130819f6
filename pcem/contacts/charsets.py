"""Bytes to text, for files that do not say their charset, or say it wrongly.

UTF-8 first (with or without a BOM); UTF-16 when a BOM, or NULs between ASCII
letters, say so; windows-1252 for the rest, the charset of older Windows and Outlook
files, and latin-1 (which every byte decodes as) for the five bytes windows-1252
leaves undefined. A charset a file declares is tried first; a wrong declaration
falls back the same way instead of failing. NUL is removed from every text:
PostgreSQL's text and jsonb cannot hold it.
"""

from __future__ import annotations

import codecs

_UTF8_BOM = codecs.BOM_UTF8
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# Labels that mean windows-1252 in practice (as browsers read them): ISO-8859-1 text
# from Windows holds curly quotes and euro signs at 0x80-0x9F.
_WINDOWS_1252_ALIASES = {"latin_1", "iso8859-1", "ascii", "cp1252"}


def decode_file(data: bytes) -> str:
    """A whole file's text, its line ends as "\\n"."""
    text = decode_text(as_utf8(data), "utf-8")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def as_utf8(data: bytes) -> bytes:
    """``data`` without a UTF-8 BOM, and UTF-16 turned into UTF-8, so that readers
    working on bytes (vCard's per-property charsets) see ASCII-compatible lines."""
    if data.startswith(_UTF8_BOM):
        return data[len(_UTF8_BOM) :]
    encoding = _utf16(data)
    if encoding is None:
        return data
    return data.decode(encoding, errors="replace").lstrip("\ufeff").encode("utf-8")


def decode_text(raw: bytes, charset: str | None = None) -> str:
    """``raw`` as text: in ``charset`` when that works, else UTF-8, else windows-1252."""
    for encoding in (_codec(charset), "utf-8", "cp1252"):
        if encoding is None:
            continue
        try:
            return raw.decode(encoding).replace("\x00", "")
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1").replace("\x00", "")


def _codec(charset: str | None) -> str | None:
    if not charset:
        return None
    try:
        name = codecs.lookup(charset.strip().strip('"')).name
    except LookupError:
        return None  # an unknown label: guess as if none was given
    return "cp1252" if name in _WINDOWS_1252_ALIASES else name


def _utf16(data: bytes) -> str | None:
    if data.startswith(_UTF16_BOMS):
        return "utf-16"
    # Without a BOM, ASCII text in UTF-16 has a NUL beside every letter.
    if len(data) >= 4 and data[1] == 0 and data[3] == 0 and data[0] and data[2]:
        return "utf-16-le"
    if len(data) >= 4 and data[0] == 0 and data[2] == 0 and data[1] and data[3]:
        return "utf-16-be"
    return None
