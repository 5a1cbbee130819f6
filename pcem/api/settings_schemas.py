"""Request and response bodies of the Settings endpoints: a user's time zone and how
they are told (``pcem.aggregates.settings`` holds the rules)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from pcem.aggregates import settings
from pcem.aggregates.settings import Preferences
from pcem.aggregates.text_rules import EMAIL, HH_MM, PHONE, SECRET, WEBHOOK_URL

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
# Not an enum: 599 names, some of which generators cannot tell apart as identifiers
# (GMT0, GMT+0, GMT-0); a format names the set (tests/contract/hooks.py draws from it).
_TIME_ZONE = {
    "format": "iana-time-zone",
    "description": "An IANA time zone name such as Europe/Berlin (a name of the zone"
    " database, as Python's zoneinfo lists them); any other is a 400.",
}
TimeZone = Annotated[str, msgspec.Meta(max_length=64, extra_json_schema={"extra": _TIME_ZONE})]


# Channels are a union tagged by "type".
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
    digest: bool = True


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
            digest=n.digest,
        )

    @classmethod
    def from_preferences(cls, preferences: Preferences) -> SettingsBody:
        return msgspec.convert(preferences.as_dict(), cls)
