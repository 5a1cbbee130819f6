"""Content lines as vCard (RFC 6350) and iCalendar (RFC 5545) both write them: one
TEXT escaping, one folding. The vCard writer and the calendar feed use these."""

from __future__ import annotations

MAX_OCTETS = 75  # a line's length, without its CRLF (RFC 6350 3.2, RFC 5545 3.1)


def text(value: str) -> str:
    """A TEXT value: backslash, comma, semicolon and line breaks escaped (a carriage
    return as a line break)."""
    return (
        value.replace("\\", "\\\\")
        .replace(",", "\\,")
        .replace(";", "\\;")
        .replace("\r\n", "\\n")
        .replace("\r", "\\n")
        .replace("\n", "\\n")
    )


def folded(line: str) -> str:
    """``line`` with CRLF, in lines of at most 75 octets; each continuation starts with
    a space, and no UTF-8 character is split."""
    encoded = line.encode()
    if len(encoded) <= MAX_OCTETS:
        return line + "\r\n"
    pieces, start, limit = [], 0, MAX_OCTETS
    while start < len(encoded):
        end = min(start + limit, len(encoded))
        while end < len(encoded) and (encoded[end] & 0xC0) == 0x80:  # inside a character
            end -= 1
        pieces.append(encoded[start:end].decode())
        start, limit = end, MAX_OCTETS - 1
    return "\r\n ".join(pieces) + "\r\n"
