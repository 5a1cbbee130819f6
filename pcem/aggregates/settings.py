"""A user's settings: time zone and notification preferences (one aggregate per user)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar
from zoneinfo import available_timezones

from eventsourcing.domain import Aggregate, event

from pcem.aggregates.ownership import OwnedAggregate, OwnedEvent, Tombstone
from pcem.aggregates.text_rules import EMAIL, HH_MM, PHONE, SECRET, WEBHOOK_URL, TextRule

_NAMESPACE = uuid.UUID("5b0f3f8e-3c1e-4d51-9f3c-6f1f5d9a2c10")
MAX_LEAD_TIMES = 10
MAX_LEAD_DAYS = 365
# Delivery channels, tagged by "type": the fields each needs, the rule each keeps (as
# the API's schema also declares it), and their longest length.
MAX_EMAIL = 254
MAX_PHONE = 16
MAX_URL = 2048
MAX_SECRET = 256
CHANNEL_FIELDS: dict[str, dict[str, tuple[TextRule, int]]] = {
    "email": {"address": (EMAIL, MAX_EMAIL)},
    "sms": {"phone": (PHONE, MAX_PHONE)},
    "webhook": {"url": (WEBHOOK_URL, MAX_URL), "secret": (SECRET, MAX_SECRET)},
    "in_app": {},
}


@dataclass(frozen=True)
class Preferences:
    """Settings as API.md shapes them; channels are plain dicts tagged by ``type``."""

    timezone: str = "UTC"
    enabled: bool = True
    lead_time_days: tuple[int, ...] = (7, 1, 0)
    delivery_time: str = "09:00"
    channels: tuple[dict[str, Any], ...] = field(default_factory=lambda: ({"type": "in_app"},))
    digest: bool = True  # email and SMS due the same minute go out as one message

    def as_dict(self) -> dict[str, Any]:
        return {
            "timezone": self.timezone,
            "notifications": {
                "enabled": self.enabled,
                "lead_time_days": list(self.lead_time_days),
                "delivery_time": self.delivery_time,
                "channels": [dict(c) for c in self.channels],
                "digest": self.digest,
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preferences:
        notifications = data["notifications"]
        return cls(
            timezone=data["timezone"],
            enabled=notifications["enabled"],
            lead_time_days=tuple(notifications["lead_time_days"]),
            delivery_time=notifications["delivery_time"],
            channels=tuple(notifications["channels"]),
            digest=notifications.get("digest", True),  # settings saved before it existed
        )


def settings_id(user_id: str, generation: int = 0) -> uuid.UUID:
    """Each user has one settings aggregate per account generation, found without a
    lookup of the event store. An account erasure erases its generation's aggregate for
    good (its key destroyed, its id taken), so the account that follows, the user's next
    generation, has an id of its own (docs/api-decisions.md)."""
    if generation == 0:
        return uuid.uuid5(_NAMESPACE, user_id)  # as before erasure existed: ids kept
    return uuid.uuid5(_NAMESPACE, f"{user_id}\x00{generation}")


class UserSettings(OwnedAggregate):
    class Created(OwnedEvent, Aggregate.Created):
        audit_type: ClassVar[str] = "SettingsCreated"

    class Changed(OwnedEvent):
        audit_type: ClassVar[str] = "SettingsChanged"
        settings: dict[str, Any]

    class AccountErased(Tombstone):
        """The account this aggregate belongs to was erased: its settings, and with
        them everything of the user's that no person holds, are gone for good."""

        audit_type: ClassVar[str] = "AccountErased"

    @staticmethod
    def create_id(user_id: str, actor: str) -> uuid.UUID:
        return settings_id(user_id)

    @classmethod
    def defaults(cls, user_id: str, generation: int) -> UserSettings:
        """Unsaved defaults, for the account of ``generation``."""
        return cls._create(
            cls.Created, id=settings_id(user_id, generation), user_id=user_id, actor=user_id
        )

    @event(Created)
    def __init__(self, *, user_id: str, actor: str) -> None:
        self.user_id = user_id
        self.preferences = Preferences()

    def change(self, actor: str, preferences: Preferences) -> None:
        check_preferences(preferences)
        if preferences != self.preferences:
            self._changed(user_id=self.user_id, actor=actor, settings=preferences.as_dict())

    def erase_account(self, actor: str) -> None:
        if not self.is_erased:
            self._account_erased(user_id=self.user_id, actor=actor)

    @event(Changed)
    def _changed(self, user_id: str, actor: str, settings: dict[str, Any]) -> None:
        self.preferences = Preferences.from_dict(settings)

    @event(AccountErased)
    def _account_erased(self, user_id: str, actor: str) -> None:
        self.is_erased = True


@cache
def known_timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def check_preferences(preferences: Preferences) -> None:
    problems = []
    if preferences.timezone not in known_timezones():
        problems.append(("timezone", "must be an IANA time zone such as Europe/Berlin"))
    if not HH_MM.matches(preferences.delivery_time):
        problems.append(("notifications.delivery_time", HH_MM.words))
    leads = preferences.lead_time_days
    if len(leads) > MAX_LEAD_TIMES or len(set(leads)) != len(leads):
        problems.append(("notifications.lead_time_days", f"at most {MAX_LEAD_TIMES}, no repeats"))
    if any(not 0 <= d <= MAX_LEAD_DAYS for d in leads):
        problems.append(("notifications.lead_time_days", f"each must be 0..{MAX_LEAD_DAYS}"))
    problems += [("notifications.channels", p) for p in _channel_problems(preferences.channels)]
    if problems:
        raise InvalidSettingsError(problems)


def _channel_problems(channels: tuple[dict[str, Any], ...]) -> list[str]:
    problems = []
    for index, channel in enumerate(channels):
        fields = CHANNEL_FIELDS.get(channel.get("type"))  # type: ignore[arg-type]
        if fields is None:
            problems.append(f"[{index}]: type must be one of {', '.join(CHANNEL_FIELDS)}")
        elif set(channel) != {"type", *fields}:
            takes = ", ".join(["type", *fields])
            problems.append(f"[{index}]: type {channel['type']!r} takes exactly {takes}")
        else:
            problems += [
                f"[{index}].{name}: not a valid {name}"
                for name, (rule, longest) in fields.items()
                if not isinstance(channel[name], str)
                or len(channel[name]) > longest
                or not rule.matches(channel[name])
            ]
    return problems


class InvalidSettingsError(ValueError):
    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))
        self.problems = problems
