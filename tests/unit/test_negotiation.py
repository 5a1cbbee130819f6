"""Accept, read as RFC 9110 reads it: weights, the most specific range, refusals."""

from __future__ import annotations

import pytest

from pcem.api.negotiation import NotAcceptableError, preferred

OFFERED = ("application/json", "text/vcard", "text/calendar")


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, "application/json"),
        ("", "application/json"),
        ("*/*", "application/json"),
        ("*", "application/json"),  # as old Java clients send it
        ("text/*", "text/vcard"),  # a tie between two: the route's order
        ("TEXT/Calendar", "text/calendar"),  # names are case-insensitive
        ("text/calendar; charset=utf-8", "text/calendar"),  # other parameters ignored
        ("text/vcard;q=0.4, text/calendar;q=0.5", "text/calendar"),
        ("*/*;q=0.5, text/calendar", "text/calendar"),
        ("*/*, text/calendar", "text/calendar"),  # equal weights: the more specific
        ("text/*;q=0.9, */*;q=1", "application/json"),
        ("text/*, text/vcard;q=0", "text/calendar"),  # the most specific range decides
        ("nonsense, text/vcard", "text/vcard"),  # an unreadable range counts as absent
        ("text/vcard;q=2, text/calendar;q=0.1", "text/calendar"),  # so is a weight over 1
        ("text/vcard;q=abc, text/calendar;q=0.1", "text/calendar"),
    ],
)
def test_the_preferred_type(accept: str | None, chosen: str) -> None:
    assert preferred(accept, OFFERED) == chosen


@pytest.mark.parametrize(
    "accept",
    ["application/xml", "text/html", "*/*;q=0", "text/*;q=0, application/json;q=0", "*/json"],
)
def test_nothing_acceptable_is_refused(accept: str) -> None:
    with pytest.raises(NotAcceptableError, match="application/json, text/vcard, text/calendar"):
        preferred(accept, OFFERED)
