"""Request and response bodies of the Events and upcoming endpoints."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType

from pcem.aggregates.text_rules import (
    NO_NUL,
    VISIBLE_TEXT,
)
from pcem.api.problems import FieldError, InvalidInputError
from pcem.api.validation_wording import missing_date_words
from pcem.projections.calendar_view import DATE_OR_INSTANT, EventRow, Occurrence

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=VISIBLE_TEXT.pattern)]
Notes = Annotated[str, msgspec.Meta(max_length=2000, pattern=NO_NUL.pattern)]
RecurrenceName = Literal["none", "yearly", "monthly", "weekly"]
# A calendar date (all day) or an instant: parse_event_date() takes either.
EventDate = Annotated[
    str, msgspec.Meta(max_length=64, extra_json_schema={"extra": DATE_OR_INSTANT})
]


class CreateEvent(msgspec.Struct, forbid_unknown_fields=True):
    person_id: UUID
    title: Title
    event_date: EventDate
    is_special_event: bool = False
    recurrence: RecurrenceName = "none"
    notes: Notes = ""

    def fields(self) -> dict[str, Any]:
        """The event's own fields (``person_id`` aside), its date parsed."""
        fields = msgspec.structs.asdict(self)
        del fields["person_id"]
        return {**fields, "event_date": parse_event_date(self.event_date)}


class UpdateEvent(msgspec.Struct, forbid_unknown_fields=True):
    title: Title | UnsetType = UNSET
    event_date: EventDate | UnsetType = UNSET
    is_special_event: bool | UnsetType = UNSET
    recurrence: RecurrenceName | UnsetType = UNSET
    notes: Notes | UnsetType = UNSET

    def fields(self) -> dict[str, Any]:
        fields = {k: v for k in self.__struct_fields__ if (v := getattr(self, k)) is not UNSET}
        if "event_date" in fields:
            fields["event_date"] = parse_event_date(fields["event_date"])
        return fields


def parse_event_date(value: str) -> date | datetime:
    """``YYYY-MM-DD`` (all day) or an RFC 3339 date-time with offset (an instant)."""
    try:
        if len(value) == len("YYYY-MM-DD"):
            return date.fromisoformat(value)
        moment = msgspec.convert(value, datetime)
        if moment.tzinfo is not None:
            return moment
    except (ValueError, msgspec.ValidationError):
        pass
    message = missing_date_words(value[: len("YYYY-MM-DD")])
    if message is None:
        message = "must be YYYY-MM-DD or an RFC 3339 date-time with offset"
    raise InvalidInputError([FieldError("event_date", message)])


EventOut = EventRow  # the read model's row is the API's Event


class Upcoming(msgspec.Struct):
    timezone: str
    items: list[Occurrence]  # built by the read model as they are answered
