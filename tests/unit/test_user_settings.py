"""The UserSettings aggregate's rules, without a database."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from pcem.aggregates.settings import InvalidSettingsError, Preferences, UserSettings

EVERY_CHANNEL = (
    {"type": "email", "address": "ada@example.org"},
    {"type": "sms", "phone": "+4915112345678"},
    {"type": "webhook", "url": "https://hooks.example/pcem", "secret": "s" * 16},
    {"type": "in_app"},
)


def settings() -> UserSettings:
    return UserSettings(user_id="alice", actor="alice")


def test_a_new_user_has_the_defaults_of_the_api() -> None:
    assert settings().preferences.as_dict() == {
        "timezone": "UTC",
        "notifications": {
            "enabled": True,
            "lead_time_days": [7, 1, 0],
            "delivery_time": "09:00",
            "channels": [{"type": "in_app"}],
            "digest": True,
        },
    }


def test_a_change_is_recorded_once() -> None:
    mine = settings()
    mine.collect_events()
    wanted = Preferences(timezone="Asia/Kathmandu", lead_time_days=(3,), channels=EVERY_CHANNEL)

    mine.change("alice", wanted)
    mine.change("alice", wanted)

    (changed,) = mine.collect_events()
    assert isinstance(changed, UserSettings.Changed)
    assert mine.preferences == wanted


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"delivery_time": "9:00"}, "notifications.delivery_time"),
        ({"delivery_time": "09:00\n"}, "notifications.delivery_time"),
        ({"delivery_time": "0\u0669:00"}, "notifications.delivery_time"),  # an Arabic-Indic 9
        ({"lead_time_days": (1, 1)}, "notifications.lead_time_days"),
        ({"lead_time_days": (366,)}, "notifications.lead_time_days"),
        ({"lead_time_days": tuple(range(11))}, "notifications.lead_time_days"),
        ({"channels": ({"type": "pigeon"},)}, "notifications.channels"),
        ({"channels": ({"type": "email"},)}, "notifications.channels"),
        ({"channels": ({"type": "in_app", "address": "x@y.z"},)}, "notifications.channels"),
        ({"channels": ({"type": "email", "address": "nope"},)}, "notifications.channels"),
        ({"channels": ({"type": "email", "address": "a@b.c\n"},)}, "notifications.channels"),
        (
            {
                "channels": (
                    {"type": "sms", "phone": "+1\u0663\u0663\u0663\u0663\u0663\u0663\u0663"},
                )
            },
            "notifications.channels",
        ),
        ({"channels": ({"type": "sms", "phone": "015112345678"},)}, "notifications.channels"),
        ({"channels": ({"type": "sms", "phone": 4915112345678},)}, "notifications.channels"),
        (
            {"channels": ({"type": "webhook", "url": "ftp://x", "secret": "s" * 16},)},
            "notifications.channels",
        ),
        (
            {"channels": ({"type": "webhook", "url": "https://x", "secret": "short"},)},
            "notifications.channels",
        ),
    ],
)
def test_invalid_preferences_are_refused_naming_the_field(
    change: dict[str, Any], field: str
) -> None:
    mine = settings()

    with pytest.raises(InvalidSettingsError) as refused:
        mine.change("alice", replace(Preferences(), **change))

    assert [f for f, _ in refused.value.problems] == [field]
    assert mine.preferences == Preferences()


def test_settings_saved_before_the_digest_existed_have_it_on() -> None:
    saved_then = Preferences().as_dict()
    del saved_then["notifications"]["digest"]

    assert Preferences.from_dict(saved_then).digest is True


def test_turning_the_digest_off_is_a_change() -> None:
    mine = settings()
    mine.collect_events()

    mine.change("alice", Preferences(digest=False))

    (changed,) = mine.collect_events()
    assert changed.settings["notifications"]["digest"] is False  # type: ignore[attr-defined]
    assert mine.preferences.digest is False
