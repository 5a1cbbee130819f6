"""``/me/settings``: the caller's time zone and notification preferences."""

from __future__ import annotations

from litestar import Controller, Response, get, put
from litestar.di import NamedDependency
from litestar.params import JSONBody

from pcem.api.auth import Principal
from pcem.api.calendar_schemas import SettingsBody
from pcem.api.consistency import ReadYourWrites
from pcem.api.people import IfMatch, remember
from pcem.api.versions import expected_version, versioned_response
from pcem.commands.settings import SettingsApplication


class SettingsController(Controller):
    path = "/api/v1/me/settings"
    tags = ["settings"]

    @get("/", operation_id="getSettings", sync_to_thread=True)
    def get_settings(
        self, principal: NamedDependency[Principal], settings: NamedDependency[SettingsApplication]
    ) -> Response[SettingsBody]:
        """Your settings (the defaults until you change them)."""
        current = settings.settings(principal.user_id)
        body = SettingsBody.from_preferences(current.preferences)
        return versioned_response(body, current.version)

    @put("/", operation_id="replaceSettings", sync_to_thread=True)
    def replace_settings(
        self,
        data: JSONBody[SettingsBody],
        principal: NamedDependency[Principal],
        settings: NamedDependency[SettingsApplication],
        ryw: NamedDependency[ReadYourWrites],
        if_match: IfMatch = None,
    ) -> Response[SettingsBody]:
        """Replace your settings; every occurrence moves with a new time zone at once.
        With ``If-Match``, only if they are still at that version (else 412)."""
        written = settings.replace_settings(
            principal.user_id, data.preferences(), expected_version=expected_version(if_match)
        )
        remember(ryw, principal, written)
        body = SettingsBody.from_preferences(written.aggregate.preferences)
        return versioned_response(body, written.aggregate.version, position=written.position)
