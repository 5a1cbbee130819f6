"""ETags and ``If-Match``: a resource's version as a weak entity tag."""

from __future__ import annotations

import re

_ETAG = re.compile(r'^\s*(?:W/)?"(\d{1,18})"\s*$')
_NEVER_MATCHES = -1


def etag(version: int) -> str:
    return f'W/"{version}"'


def expected_version(if_match: str | None) -> int | None:
    """The version ``If-Match`` demands; None when absent or ``*`` (any version).

    Anything unparsable cannot match a current tag, so it yields a version no
    resource has, and the request fails with 412 as RFC 9110 prescribes.
    """
    if if_match is None or if_match.strip() == "*":
        return None
    match = _ETAG.match(if_match)
    return int(match.group(1)) if match else _NEVER_MATCHES
