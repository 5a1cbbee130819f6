"""Helpers of the export's tests: an account with a bit of everything, and its export."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import msgspec

from pcem.export.document import ExportDocument
from tests.integration.api_helpers import PEOPLE, create_person, relate
from tests.integration.feed_helpers import EVENTS, SETTINGS, add_event, caught_up

EXPORT = "/api/v1/me/export"
SECRET = "the-users-webhook-signing-secret"


def export(client: httpx.Client, auth: dict[str, str], accept: str | None = None) -> httpx.Response:
    headers = auth if accept is None else {**auth, "Accept": accept}
    return client.get(EXPORT, headers=headers)


def exported(client: httpx.Client, auth: dict[str, str]) -> ExportDocument:
    """The JSON export, read as its documented shape (which it must fit exactly)."""
    response = export(client, auth, "application/json")
    assert response.status_code == 200, response.text
    return msgspec.json.decode(response.content, type=ExportDocument, strict=True)


@dataclass(frozen=True)
class Account:
    ada: dict[str, Any]  # live: a birthday without a year, married to Bob
    bob: dict[str, Any]  # live
    cy: dict[str, Any]  # deleted, with an event (hidden with them)
    birthday: str  # Ada's
    call: str  # Ada's timed weekly call
    cy_event: str


def an_account(client: httpx.Client, auth: dict[str, str], name: str = "Ada") -> Account:
    """People, a relationship, events, settings with a webhook secret; one person deleted."""
    metadata = {
        "emails": [{"value": f"{name.lower()}@example.org", "label": "work"}],
        "phonetic_first_name": "AY-da",
        "kids": [{"name": "Byron"}],
    }
    ada = create_person(client, auth, first_name=name, last_name="Lovelace", metadata=metadata)
    bob = create_person(client, auth, first_name=f"{name}'s Bob")
    cy = create_person(client, auth, first_name=f"{name}'s Cy")
    assert relate(client, auth, ada["id"], bob["id"], "spouse").status_code == 201
    assert relate(client, auth, ada["id"], cy["id"], "friend").status_code == 201
    birthday = add_event(client, auth, ada["id"], event_date="1604-12-10", recurrence="yearly",
                         is_special_event=True)  # fmt: skip
    call = add_event(client, auth, ada["id"], title="Call", recurrence="weekly",
                     event_date="2031-05-04T18:30:00+02:00")  # fmt: skip
    cy_event = add_event(client, auth, cy["id"], title="Cy's day")
    changed = client.patch(f"{PEOPLE}/{ada['id']}", json={"last_name": "King"}, headers=auth)
    assert changed.status_code == 200
    assert client.delete(f"{PEOPLE}/{cy['id']}", headers=auth).status_code == 204
    settings = {
        "timezone": "Europe/London",
        "notifications": {
            "channels": [{"type": "webhook", "url": "https://hooks.example/x", "secret": SECRET}]
        },
    }
    assert client.put(SETTINGS, json=settings, headers=auth).status_code == 200
    caught_up(client, auth)
    return Account(changed.json(), bob, cy, birthday, call, cy_event)


def history(client: httpx.Client, auth: dict[str, str], path: str) -> list[dict[str, Any]]:
    response = client.get(f"{path}/history", params={"limit": 200}, headers=auth)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def event_path(event_id: str) -> str:
    return f"{EVENTS}/{event_id}"
