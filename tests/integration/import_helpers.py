"""Helpers of the import tests: send a file, run the worker's part, read what it made."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from pcem.wiring import Container

IMPORTS = "/api/v1/imports"
PEOPLE = "/api/v1/people"
CONTACTS = Path(__file__).parent.parent / "data" / "contacts"
VCARD = "text/vcard"


def send(
    client: httpx.Client,
    auth: dict[str, str],
    content: bytes,
    media_type: str = VCARD,
    **params: Any,
) -> httpx.Response:
    headers = {**auth, "Content-Type": media_type}
    return client.post(IMPORTS, content=content, headers=headers, params=params)


def imported(
    client: httpx.Client,
    container: Container,
    auth: dict[str, str],
    content: bytes,
    media_type: str = VCARD,
    **params: Any,
) -> dict[str, Any]:
    """The import of ``content`` once the worker's part has run it (here, in the test's
    own process), and the read models hold what it wrote."""
    accepted = send(client, auth, content, media_type, **params)
    assert accepted.status_code == 202, accepted.text
    import_id = UUID(accepted.json()["id"])
    assert container.import_run.run(import_id) == "done"
    # An import is read from its own table, which no projection fills: its route
    # waits for nothing. A read of the people waits for the projection to hold
    # everything the import stored, so the caller sees its last version.
    assert client.get(PEOPLE, params={"limit": 1}, headers=caught_up(container, auth)).is_success
    return dict(client.get(f"{IMPORTS}/{import_id}", headers=auth).json())


def caught_up(container: Container, auth: dict[str, str]) -> dict[str, str]:
    """Headers that make a query wait for every event stored so far (the worker's writes
    are not the caller's, so read-your-writes does not know of them)."""
    head = container.people.recorder.max_notification_id() or 0
    return {**auth, "PCEM-Min-Position": str(head)}


def people(client: httpx.Client, container: Container, auth: dict[str, str]) -> list[Any]:
    response = client.get(PEOPLE, params={"limit": 200}, headers=caught_up(container, auth))
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def by_name(found: list[Any]) -> dict[str, Any]:
    return {f"{p['first_name']} {p['last_name']}".strip(): p for p in found}


def counts(an_import: dict[str, Any]) -> dict[str, int]:
    names = ("total", "processed", "created", "updated", "unchanged", "skipped")
    return {name: an_import[name] for name in names}
