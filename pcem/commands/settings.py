"""Use cases for a user's settings."""

from __future__ import annotations

from collections.abc import Callable

from pcem.aggregates.ownership import NotFoundError
from pcem.aggregates.settings import Preferences, UserSettings, settings_id
from pcem.commands.base import PcemApplication, VersionMismatchError, Written, retried_on_conflict


def first_generation(user_id: str) -> int:
    return 0


class SettingsApplication(PcemApplication):
    # The user's account generation (how many times it was erased): the wiring gives
    # the erasures table's (``pcem.erasure.requests``); alone, every user's first.
    generation_of: Callable[[str], int] = staticmethod(first_generation)

    def settings(self, user_id: str) -> UserSettings:
        """The user's settings; defaults (unsaved) when they never set any."""
        generation = self.generation_of(user_id)
        try:
            return self.get_owned(user_id, settings_id(user_id, generation), UserSettings)
        except NotFoundError:  # never saved (the id is derived), or erased just now
            return UserSettings.defaults(user_id, generation)

    @retried_on_conflict
    def replace_settings(
        self, user_id: str, preferences: Preferences, *, expected_version: int | None = None
    ) -> Written[UserSettings]:
        settings = self.settings(user_id)
        if settings.pending_events and self.is_erased(settings.id):
            raise AccountErasingError()
        if expected_version is not None and settings.version != expected_version:
            raise VersionMismatchError(settings.version)
        settings.change(user_id, preferences)
        return self.saved(settings)

    @retried_on_conflict
    def erase_account(self, user_id: str, generation: int, *, actor: str) -> int:
        """The tombstone of the account of ``generation`` on its settings (saved with
        their creation if they were never saved: the mark is there either way); the
        position written (0: it was there already)."""
        try:
            settings = self.get_owned(user_id, settings_id(user_id, generation), UserSettings)
        except NotFoundError:
            if self.is_erased(settings_id(user_id, generation)):
                return 0
            settings = UserSettings.defaults(user_id, generation)
        settings.erase_account(actor)
        return self.saved(settings).position


class AccountErasingError(Exception):
    """The account's erasure has begun and is not done: its settings are gone, and the
    next account's cannot be saved before it is (409)."""

    def __init__(self) -> None:
        super().__init__("this account is being erased; its settings come back once it is done")
