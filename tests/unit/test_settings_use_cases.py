"""The settings use cases (SettingsApplication) on the in-memory event store: a user's
time zone and how, and how long before, they are reminded."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from pcem.aggregates.settings import InvalidSettingsError, Preferences
from pcem.commands.base import VersionMismatchError
from pcem.commands.settings import SettingsApplication
from tests.unit.in_memory import in_memory_pcem

EMAIL = {"type": "email", "address": "ada@example.org"}
SMS = {"type": "sms", "phone": "+447700900123"}
WEBHOOK = {"type": "webhook", "url": "https://hooks.example.org/pcem", "secret": "s" * 16}


@pytest.fixture
def settings() -> SettingsApplication:
    return in_memory_pcem().settings


def test_a_user_who_never_chose_gets_the_defaults(settings: SettingsApplication) -> None:
    # when
    preferences = settings.settings("alice").preferences

    # then
    assert preferences.as_dict() == {
        "timezone": "UTC",
        "notifications": {
            "enabled": True,
            "lead_time_days": [7, 1, 0],
            "delivery_time": "09:00",
            "channels": [{"type": "in_app"}],
            "digest": True,
        },
    }


def test_a_new_time_zone_is_kept(settings: SettingsApplication) -> None:
    # when
    settings.replace_settings("alice", Preferences(timezone="Europe/Berlin"))

    # then
    assert settings.settings("alice").preferences.timezone == "Europe/Berlin"


def test_channels_lead_times_and_delivery_time_are_kept_as_given(
    settings: SettingsApplication,
) -> None:
    # given
    chosen = Preferences(
        timezone="America/New_York",
        enabled=False,
        lead_time_days=(30, 14, 0),
        delivery_time="07:45",
        channels=(EMAIL, SMS, WEBHOOK, {"type": "in_app"}),
    )

    # when
    written = settings.replace_settings("alice", chosen)

    # then
    assert settings.settings("alice").preferences == chosen
    assert written.aggregate.version == 2  # created and changed, in one write
    assert written.position > 0


def test_saving_the_same_settings_again_changes_nothing(settings: SettingsApplication) -> None:
    # given
    chosen = Preferences(timezone="Asia/Tokyo", channels=(EMAIL,))
    settings.replace_settings("alice", chosen)

    # when
    written = settings.replace_settings("alice", chosen)

    # then
    assert written.position == 0
    assert settings.settings("alice").version == 2


def test_one_users_settings_are_theirs_alone(settings: SettingsApplication) -> None:
    # when
    settings.replace_settings("alice", Preferences(timezone="Europe/Berlin"))
    settings.replace_settings("bob", Preferences(timezone="Asia/Tokyo"))

    # then
    assert settings.settings("alice").preferences.timezone == "Europe/Berlin"
    assert settings.settings("bob").preferences.timezone == "Asia/Tokyo"
    assert settings.settings("carol").preferences.timezone == "UTC"


def test_a_replace_at_a_stale_version_is_refused_naming_the_current_one(
    settings: SettingsApplication,
) -> None:
    # given version 3
    settings.replace_settings("alice", Preferences(timezone="Europe/Berlin"))
    settings.replace_settings("alice", Preferences(timezone="Europe/Paris"), expected_version=2)

    # when / then
    with pytest.raises(VersionMismatchError) as mismatch:
        settings.replace_settings("alice", Preferences(timezone="Asia/Tokyo"), expected_version=2)
    assert mismatch.value.current_version == 3
    assert settings.settings("alice").preferences.timezone == "Europe/Paris"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": "utc"}, "timezone"),
        ({"delivery_time": "24:00"}, "notifications.delivery_time"),
        ({"delivery_time": "9:00"}, "notifications.delivery_time"),
        ({"delivery_time": "09:00\n"}, "notifications.delivery_time"),
        ({"lead_time_days": (7, 7)}, "notifications.lead_time_days"),
        ({"lead_time_days": (366,)}, "notifications.lead_time_days"),
        ({"lead_time_days": (-1,)}, "notifications.lead_time_days"),
        ({"lead_time_days": tuple(range(11))}, "notifications.lead_time_days"),
        ({"channels": ({"type": "pigeon"},)}, "notifications.channels"),
        ({"channels": ({"type": "email", "address": "ada"},)}, "notifications.channels"),
        ({"channels": ({"type": "email"},)}, "notifications.channels"),
        ({"channels": ({"type": "sms", "phone": "07700 900123"},)}, "notifications.channels"),
        ({"channels": ({**WEBHOOK, "secret": "short"},)}, "notifications.channels"),
        ({"channels": ({**WEBHOOK, "url": "ftp://example.org"},)}, "notifications.channels"),
        ({"channels": ({"type": "in_app", "address": "x"},)}, "notifications.channels"),
    ],
)
def test_invalid_settings_are_refused_naming_the_field_and_nothing_changes(
    settings: SettingsApplication, change: dict[str, Any], field: str
) -> None:
    # given
    chosen = Preferences(timezone="Europe/Berlin", channels=(EMAIL,))
    settings.replace_settings("alice", chosen)

    # when / then
    with pytest.raises(InvalidSettingsError) as refused:
        settings.replace_settings("alice", replace(chosen, **change))
    assert [f for f, _ in refused.value.problems] == [field]
    current = settings.settings("alice")
    assert (current.preferences, current.version) == (chosen, 2)


def test_every_problem_is_named_at_once(settings: SettingsApplication) -> None:
    with pytest.raises(InvalidSettingsError) as refused:
        settings.replace_settings(
            "alice", Preferences(timezone="Nowhere", delivery_time="25:00", channels=({},))
        )

    assert [f for f, _ in refused.value.problems] == [
        "timezone",
        "notifications.delivery_time",
        "notifications.channels",
    ]
    assert settings.settings("alice").preferences == Preferences()
