"""``/me/settings``: the caller's time zone and notification preferences."""

from __future__ import annotations

from litestar import Controller, Response, get, put
from litestar.di import NamedDependency
from litestar.params import JSONBody

from pcem.api.conventions import Caller, command
from pcem.api.settings_schemas import SettingsBody
from pcem.api.versions import versioned_response, written_response


class SettingsController(Controller):
    path = "/api/v1/me/settings"
    tags = ["settings"]

    @get("/", operation_id="getSettings", sync_to_thread=True)
    def get_settings(self, caller: NamedDependency[Caller]) -> Response[SettingsBody]:
        """Your settings (the defaults until you change them)."""
        current = caller.services.settings_app.settings(caller.user_id)
        return versioned_response(
            SettingsBody.from_preferences(current.preferences), current.version
        )

    @put("/", operation_id="replaceSettings", sync_to_thread=True, **command(conditional=True))
    def replace_settings(
        self, data: JSONBody[SettingsBody], caller: NamedDependency[Caller]
    ) -> Response[SettingsBody]:
        """Replace your settings; every occurrence moves with a new time zone at once.
        With ``If-Match``, only if they are still at that version (else 412)."""
        written = caller.services.settings_app.replace_settings(
            caller.user_id, data.preferences(), expected_version=caller.expected_version
        )
        body = SettingsBody.from_preferences(written.aggregate.preferences)
        return written_response(body, written)
