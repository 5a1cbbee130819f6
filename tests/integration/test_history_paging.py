"""History lists page like every other list: ``limit``, ``cursor``, ``next_cursor``."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from pcem.wiring import Container
from tests.conftest import TokenFactory
from tests.integration.api_helpers import PEOPLE, Client, bearer, create_person

EVENTS = "/api/v1/events"
SUPPORT = "/api/v1/support/aggregates"


def renamed(container: Container, user_id: str, person_id: str, times: int) -> None:
    """``times`` more versions of the person, quickly (through the application)."""
    for n in range(times):
        container.people.update_person(user_id, uuid.UUID(person_id), {"last_name": f"L{n}"})


def pages(client: Client, url: str, headers: dict[str, str], **params: Any) -> list[list[int]]:
    """The versions on each page, following ``next_cursor`` to the end."""
    found, cursor = [], None
    while True:
        query = params | ({"cursor": cursor} if cursor else {})
        response = client.get(url, params=query, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        found.append([entry["version"] for entry in body["items"]])
        if (cursor := body["next_cursor"]) is None:
            return found


@pytest.fixture
def story(client: Client, auth: dict[str, str], user_id: str, container: Container) -> str:
    """A person at version 5."""
    ada = create_person(client, auth)
    renamed(container, user_id, ada["id"], 4)
    return str(ada["id"])


def test_person_history_pages_oldest_first(
    client: Client, auth: dict[str, str], story: str
) -> None:
    url = f"{PEOPLE}/{story}/history"

    assert pages(client, url, auth, limit=2) == [[1, 2], [3, 4], [5]]
    assert pages(client, url, auth, limit=5) == [[1, 2, 3, 4, 5]]
    assert pages(client, url, auth) == [[1, 2, 3, 4, 5]]
    first = client.get(url, params={"limit": 1}, headers=auth).json()
    assert set(first) == {"items", "next_cursor"}
    assert first["items"][0]["type"] == "PersonCreated"


def test_history_without_limit_answers_the_first_50(
    client: Client, auth: dict[str, str], user_id: str, container: Container, story: str
) -> None:
    renamed(container, user_id, story, 50)  # 55 versions

    assert pages(client, f"{PEOPLE}/{story}/history", auth) == [
        list(range(1, 51)),
        list(range(51, 56)),
    ]


def test_event_history_pages_and_still_shows_a_deleted_event(
    client: Client, auth: dict[str, str]
) -> None:
    ada = create_person(client, auth)
    payload = {"person_id": ada["id"], "title": "Birthday", "event_date": "1990-06-01"}
    event = client.post(EVENTS, json=payload, headers=auth).json()
    for title in ("One", "Two"):
        client.patch(f"{EVENTS}/{event['id']}", json={"title": title}, headers=auth)
    client.delete(f"{EVENTS}/{event['id']}", headers=auth)

    assert pages(client, f"{EVENTS}/{event['id']}/history", auth, limit=3) == [[1, 2, 3], [4]]


def test_support_history_pages_with_its_owner_on_every_page(
    client: Client, container: Container, story: str, user_id: str, token_for: TokenFactory
) -> None:
    agent = bearer(token_for(f"agent-{uuid.uuid4()}", "support"))
    url = f"{SUPPORT}/{story}/history"

    assert pages(client, url, agent, limit=2) == [[1, 2], [3, 4], [5]]
    cursor = client.get(url, params={"limit": 2}, headers=agent).json()["next_cursor"]
    second = client.get(url, params={"limit": 2, "cursor": cursor}, headers=agent).json()
    assert (second["aggregate_id"], second["owner"], second["aggregate_type"]) == (
        story,
        user_id,
        "Person",
    )
    assert [e["version"] for e in second["items"]] == [3, 4]
    with container.engine.connect() as conn:
        reads = conn.exec_driver_sql(
            "SELECT count(*) FROM support_access_log WHERE aggregate_id = %s AND found",
            (uuid.UUID(story),),
        ).scalar()
    assert reads == 5  # every page read is on record


HISTORIES: dict[str, Callable[[str], str]] = {
    "person": lambda aggregate_id: f"{PEOPLE}/{aggregate_id}/history",
    "support": lambda aggregate_id: f"{SUPPORT}/{aggregate_id}/history",
}


@pytest.mark.parametrize("kind", list(HISTORIES))
def test_bad_history_paging_is_400(
    client: Client,
    auth: dict[str, str],
    user_id: str,
    container: Container,
    story: str,
    token_for: TokenFactory,
    kind: str,
) -> None:
    headers = auth if kind == "person" else bearer(token_for(f"agent-{uuid.uuid4()}", "support"))
    url = HISTORIES[kind](story)
    other = create_person(client, auth)["id"]
    renamed(container, user_id, other, 1)

    def cursor(path: str, list_headers: dict[str, str]) -> str:
        page = client.get(path, params={"limit": 1}, headers=list_headers).json()
        return str(page["next_cursor"])

    mine = cursor(url, headers)
    for params in (
        {"limit": 0},
        {"limit": 201},
        {"cursor": "nonsense"},
        {"cursor": mine[:-2] + ("AA" if not mine.endswith("AA") else "BB")},
        {"cursor": cursor(HISTORIES[kind](other), headers)},  # another aggregate's history
        {"cursor": cursor(PEOPLE, auth)},  # another list's
    ):
        response = client.get(url, params=params, headers=headers)
        assert response.status_code == 400, (params, response.text)
        assert response.json()["errors"][0]["field"] in {"limit", "cursor"}
