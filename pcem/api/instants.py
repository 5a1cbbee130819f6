"""Instants given as query parameters (``as_of``, ``from``, ``to``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar.params import QueryParameter

from pcem.api.problems import FieldError, InvalidInputError

DATE_TIME = {"format": "date-time"}  # as instant() parses it
AsOf = Annotated[
    str | None,
    QueryParameter(
        name="as_of",
        required=False,
        max_length=64,
        description="An RFC 3339 date-time with offset: the resource as it was then.",
        schema_extra=DATE_TIME,
    ),
]


def instant(field: str, value: str) -> datetime:
    """An RFC 3339 date-time with offset, or a 400 naming ``field``."""
    try:
        moment = msgspec.convert(value, datetime)
    except msgspec.ValidationError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidInputError([FieldError(field, "must be an RFC 3339 date-time with offset")])
    return moment
