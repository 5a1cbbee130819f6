"""Use cases for a user's settings."""

from __future__ import annotations

from pcem.aggregates.ownership import OwnedAggregate
from pcem.aggregates.settings import Preferences, UserSettings, settings_id
from pcem.commands.base import NotFoundError, PcemApplication, Written, check_version


class SettingsApplication(PcemApplication):
    def settings(self, user_id: str) -> UserSettings:
        """The user's settings; defaults (unsaved) when they never set any."""
        try:
            return self.get_owned(user_id, settings_id(user_id), UserSettings)
        except NotFoundError:  # never saved (the id is derived from the user id)
            return UserSettings(user_id=user_id, actor=user_id)

    def replace_settings(
        self, user_id: str, preferences: Preferences, *, expected_version: int | None = None
    ) -> Written[UserSettings]:
        def unit() -> tuple[UserSettings, list[OwnedAggregate]]:
            settings = self.settings(user_id)
            check_version(settings, expected_version)
            settings.change(user_id, preferences)
            return settings, [settings]

        return self.transact(unit, conditional=expected_version is not None)
