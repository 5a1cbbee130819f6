"""ETags and ``If-Match`` (a resource's version as a weak entity tag), and the
headers of what a command wrote."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from litestar import Response

from pcem.aggregates.text_rules import TextRule
from pcem.commands.base import Written

T = TypeVar("T")
POSITION_HEADER = "PCEM-Position"

ETAG_PATTERN = r'^W/"[0-9]{1,18}"$'
"""An ETag PCEM sends; ``If-Match`` takes it, its strong form ``"<version>"`` or ``*``."""
IF_MATCH = TextRule(r'^(\*|(W/)?"[0-9]{1,18}")$', 'must be * or an ETag such as W/"3"')
"""``If-Match`` as documented; what does not match it is not refused, but matches no
version: a 412 (see :func:`expected_version`) — except an empty one, a 400
(``Caller.expected_version``)."""
_ETAG = re.compile(r'^\s*(?:W/)?"([0-9]{1,18})"\s*$')
_NEVER_MATCHES = -1


def etag(version: int) -> str:
    return f'W/"{version}"'


def versioned_response(
    body: T, version: int, *, status: int = 200, position: int = 0, location: str | None = None
) -> Response[T]:
    """A single resource: its ``ETag``, the event position a command wrote (if any) and,
    for a creation, its ``Location``."""
    headers = {"ETag": etag(version)}
    if position:
        headers[POSITION_HEADER] = str(position)
    if location is not None:
        headers["Location"] = location
    return Response(body, status_code=status, headers=headers)


def written_response(
    body: T, written: Written[Any], *, status: int = 200, location: str | None = None
) -> Response[T]:
    """What a command answers: the resource, its ETag and the position it wrote
    (which the conventions remember for the caller's next queries)."""
    version = written.aggregate.version
    return versioned_response(
        body, version, status=status, position=written.position, location=location
    )


def no_content(written: Written[Any]) -> Response[None]:
    return Response(None, status_code=204, headers={POSITION_HEADER: str(written.position)})


def expected_version(if_match: str | None) -> int | None:
    """The version ``If-Match`` demands; None when absent or ``*`` (any version).

    Anything unparsable cannot match a current tag, so it yields a version no
    resource has, and the request fails with 412 as RFC 9110 prescribes.
    """
    if if_match is None or if_match.strip() == "*":
        return None
    match = _ETAG.match(if_match)
    return int(match.group(1)) if match else _NEVER_MATCHES
