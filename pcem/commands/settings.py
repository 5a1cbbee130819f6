"""Use cases for a user's settings."""

from __future__ import annotations

from pcem.aggregates.ownership import NotFoundError
from pcem.aggregates.settings import Preferences, UserSettings, settings_id
from pcem.commands.base import PcemApplication, VersionMismatchError, Written, retried_on_conflict


class SettingsApplication(PcemApplication):
    def settings(self, user_id: str) -> UserSettings:
        """The user's settings; defaults (unsaved) when they never set any."""
        try:
            return self.get_owned(user_id, settings_id(user_id), UserSettings)
        except NotFoundError:  # never saved (the id is derived from the user id)
            return UserSettings(user_id=user_id, actor=user_id)

    @retried_on_conflict
    def replace_settings(
        self, user_id: str, preferences: Preferences, *, expected_version: int | None = None
    ) -> Written[UserSettings]:
        settings = self.settings(user_id)
        if expected_version is not None and settings.version != expected_version:
            raise VersionMismatchError(settings.version)
        settings.change(user_id, preferences)
        return self.saved(settings)
