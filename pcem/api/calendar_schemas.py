"""Request and response bodies of the Events, upcoming and Settings endpoints."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType

from pcem.aggregates import settings
from pcem.aggregates.settings import Preferences
from pcem.aggregates.text_rules import (
    EMAIL,
    HH_MM,
    NO_NUL,
    PHONE,
    SECRET,
    VISIBLE_TEXT,
    WEBHOOK_URL,
)
from pcem.api.problems import FieldError, InvalidInputError
from pcem.projections.calendar_view import EventRow, Occurrence

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=VISIBLE_TEXT.pattern)]
Notes = Annotated[str, msgspec.Meta(max_length=2000, pattern=NO_NUL.pattern)]
RecurrenceName = Literal["none", "yearly", "monthly", "weekly"]
# A calendar date (all day) or an instant: parse_event_date() takes either.
_DATE_OR_INSTANT = {"anyOf": [{"format": "date"}, {"format": "date-time"}]}
EventDate = Annotated[
    str, msgspec.Meta(max_length=64, extra_json_schema={"extra": _DATE_OR_INSTANT})
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
    raise InvalidInputError(
        [FieldError("event_date", "must be YYYY-MM-DD or an RFC 3339 date-time with offset")]
    )


EventOut = EventRow  # the read model's row is the API's Event


class Upcoming(msgspec.Struct):
    timezone: str
    items: list[Occurrence]  # built by the read model as they are answered


# Settings: channels are a union tagged by "type".

Email = Annotated[str, msgspec.Meta(max_length=settings.MAX_EMAIL, pattern=EMAIL.pattern)]
Phone = Annotated[str, msgspec.Meta(max_length=settings.MAX_PHONE, pattern=PHONE.pattern)]
WebhookURL = Annotated[str, msgspec.Meta(max_length=settings.MAX_URL, pattern=WEBHOOK_URL.pattern)]
Secret = Annotated[str, msgspec.Meta(max_length=settings.MAX_SECRET, pattern=SECRET.pattern)]
LeadDays = Annotated[int, msgspec.Meta(ge=0, le=settings.MAX_LEAD_DAYS)]


# check_preferences() enforces these; documented here (Litestar drops an item's Meta).
_LEAD_TIMES = {
    "maxItems": settings.MAX_LEAD_TIMES,
    "uniqueItems": True,
    "items": {"type": "integer", "minimum": 0, "maximum": settings.MAX_LEAD_DAYS},
}
LeadTimes = Annotated[list[LeadDays], msgspec.Meta(extra_json_schema={"extra": _LEAD_TIMES})]
TimeZone = Annotated[
    str,
    msgspec.Meta(
        max_length=64, extra_json_schema={"extra": {"enum": sorted(settings.known_timezones())}}
    ),
]


class EmailChannel(msgspec.Struct, tag_field="type", tag="email", forbid_unknown_fields=True):
    address: Email


class SMSChannel(msgspec.Struct, tag_field="type", tag="sms", forbid_unknown_fields=True):
    phone: Phone


class WebhookChannel(msgspec.Struct, tag_field="type", tag="webhook", forbid_unknown_fields=True):
    url: WebhookURL
    secret: Secret


class InAppChannel(msgspec.Struct, tag_field="type", tag="in_app", forbid_unknown_fields=True):
    pass


Channel = EmailChannel | SMSChannel | WebhookChannel | InAppChannel


class NotificationSettings(msgspec.Struct, forbid_unknown_fields=True):
    enabled: bool = True
    lead_time_days: LeadTimes = msgspec.field(default_factory=lambda: [7, 1, 0])
    delivery_time: Annotated[str, msgspec.Meta(pattern=HH_MM.pattern)] = "09:00"
    channels: list[Channel] = msgspec.field(default_factory=lambda: [InAppChannel()])


class SettingsBody(msgspec.Struct, forbid_unknown_fields=True):
    timezone: TimeZone = "UTC"  # an IANA name (check_preferences)
    notifications: NotificationSettings = msgspec.field(default_factory=NotificationSettings)

    def preferences(self) -> Preferences:
        n = self.notifications
        return Preferences(
            timezone=self.timezone,
            enabled=n.enabled,
            lead_time_days=tuple(n.lead_time_days),
            delivery_time=n.delivery_time,
            channels=tuple(msgspec.to_builtins(c) for c in n.channels),
        )

    @classmethod
    def from_preferences(cls, preferences: Preferences) -> SettingsBody:
        return msgspec.convert(preferences.as_dict(), cls)
