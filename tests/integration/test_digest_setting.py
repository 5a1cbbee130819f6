"""``notifications.digest`` in ``/me/settings``: on by default, kept as given."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

SETTINGS = "/api/v1/me/settings"
EMAIL = {"type": "email", "address": "ada@example.org"}


def test_the_digest_is_on_for_a_user_who_never_saved_settings(
    client: TestClient[Any], auth: dict[str, str]
) -> None:
    answer = client.get(SETTINGS, headers=auth)

    assert answer.status_code == 200
    assert answer.json()["notifications"]["digest"] is True


def test_settings_saved_without_the_digest_keep_it_on(
    client: TestClient[Any], auth: dict[str, str]
) -> None:
    saved = client.put(SETTINGS, json={"notifications": {"channels": [EMAIL]}}, headers=auth)

    assert saved.status_code == 200
    assert saved.json()["notifications"]["digest"] is True
    assert client.get(SETTINGS, headers=auth).json()["notifications"]["digest"] is True


def test_a_digest_turned_off_stays_off(client: TestClient[Any], auth: dict[str, str]) -> None:
    body = {"notifications": {"channels": [EMAIL], "digest": False}}

    assert client.put(SETTINGS, json=body, headers=auth).json()["notifications"]["digest"] is False
    assert client.get(SETTINGS, headers=auth).json()["notifications"]["digest"] is False


def test_a_digest_that_is_not_a_boolean_is_refused_naming_the_field(
    client: TestClient[Any], auth: dict[str, str]
) -> None:
    answer = client.put(SETTINGS, json={"notifications": {"digest": "yes"}}, headers=auth)

    assert answer.status_code == 400
    assert "digest" in answer.text


def test_the_openapi_settings_schema_has_the_digest(client: TestClient[Any]) -> None:
    schemas = client.get("/schema/openapi.json").json()["components"]["schemas"]

    [notifications] = [s for name, s in schemas.items() if name.endswith("NotificationSettings")]
    assert notifications["properties"]["digest"]["type"] == "boolean"
