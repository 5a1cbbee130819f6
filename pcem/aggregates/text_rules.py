"""Rules on text, each written once: its pattern and what it means in words.

The API's schemas declare these patterns (so msgspec refuses a bad value and names
its field, and the OpenAPI document carries them), the JSON input guard checks
them, and a refusal is worded from the rule; the domain checks the settings' own
with :meth:`TextRule.matches`.

A pattern is read alike by Python's ``re`` and by the ECMAScript regexes of JSON
Schema: plain classes, ``^`` and ``$``, and no ``\\s`` on its own, which means
different characters in the two (Python adds \\x1c-\\x1f and \\x85, ECMAScript
\\ufeff), so whitespace is spelt out as both read it. Python checks a whole value
with ``re.fullmatch`` (in Python ``$`` also matches before a trailing newline).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_NUL = r"\x00"  # PostgreSQL's text and jsonb cannot hold it
# Whitespace as either engine reads \s, and NUL: what a visible character is not.
_BLANK = rf"\s{_NUL}\x1c-\x1f\x85\ufeff"


@dataclass(frozen=True)
class TextRule:
    pattern: str
    """A regex, for ``msgspec.Meta(pattern=...)`` and JSON Schema's ``pattern``."""
    words: str
    """What a value that breaks the rule is told, e.g. "must be HH:MM, 00:00 to 23:59"."""
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_regex", re.compile(self.pattern))

    def matches(self, text: str) -> bool:
        """Whether the whole of ``text`` keeps the rule."""
        return self._regex.fullmatch(text) is not None


NO_NUL = TextRule(rf"^[^{_NUL}]*$", "must not contain the NUL character (\\u0000)")
VISIBLE_TEXT = TextRule(
    rf"^[^{_NUL}]*[^{_BLANK}][^{_NUL}]*$", "must contain a visible character, and no NUL"
)
EMAIL = TextRule(
    rf"^[^@{_BLANK}]+@[^@{_BLANK}]+\.[^@{_BLANK}]+$",
    "must be an email address such as a@example.org",
)
PHONE = TextRule(  # E.164
    r"^\+[1-9][0-9]{6,14}$", "must be an E.164 phone number such as +4915112345678"
)
WEBHOOK_URL = TextRule(
    rf"^https?://[^{_BLANK}]+$", "must be an http:// or https:// URL, without spaces"
)
SECRET = TextRule(rf"^[^{_NUL}]{{16,256}}$", "must be 16 to 256 characters, and no NUL")
HH_MM = TextRule(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", "must be HH:MM, 00:00 to 23:59")

TEXT_RULES = (NO_NUL, VISIBLE_TEXT, EMAIL, PHONE, WEBHOOK_URL, SECRET, HH_MM)
