"""A command whose COMMIT reached PostgreSQL but whose answer was lost (the server
stopped, the connection broke) is answered as if nothing had happened: the
retry recognises its own stored write instead of failing on it or repeating it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient
from psycopg.conninfo import conninfo_to_dict
from sqlalchemy import text

from pcem.api.app import create_app
from pcem.settings import Settings
from pcem.wiring import build_container
from tests.conftest import projector_running
from tests.integration.api_helpers import PEOPLE, create_person, relate
from tests.integration.fault_proxy import CommitLosingProxy, commit_losing_proxy

Client = TestClient[Any]


@pytest.fixture
def proxy(settings: Settings) -> Iterator[CommitLosingProxy]:
    params = conninfo_to_dict(settings.require_database().url)
    with commit_losing_proxy(str(params["host"]), int(str(params["port"]))) as proxy:
        yield proxy


@pytest.fixture
def lossy(settings: Settings, proxy: CommitLosingProxy) -> Iterator[Client]:
    """The API, its event store reached through the proxy."""
    container = build_container(settings)
    container.event_store = {**container.event_store, "POSTGRES_PORT": str(proxy.port)}
    with projector_running(container), TestClient(create_app(container)) as client:
        yield client


def stored_events(lossy: Client, aggregate_id: str) -> list[Any]:
    container = lossy.app.state.container
    with container.engine.connect() as conn:
        return list(
            conn.execute(
                text("SELECT originator_version FROM pcem_events WHERE originator_id = :id"),
                {"id": aggregate_id},
            ).scalars()
        )


def test_a_created_person_whose_commit_answer_was_lost_is_answered_201_once(
    lossy: Client, proxy: CommitLosingProxy, auth: dict[str, str]
) -> None:
    proxy.arm()
    response = lossy.post(PEOPLE, json={"first_name": "Ada"}, headers=auth)

    assert proxy.lost_commits == 1
    assert response.status_code == 201, response.text
    person = response.json()
    assert stored_events(lossy, person["id"]) == [1]
    listed = lossy.get(PEOPLE, headers=auth).json()["items"]
    assert [p["id"] for p in listed] == [person["id"]]


def test_a_relationship_whose_commit_answer_was_lost_is_added_once(
    lossy: Client, proxy: CommitLosingProxy, auth: dict[str, str]
) -> None:
    ada, bob = create_person(lossy, auth), create_person(lossy, auth)

    proxy.arm()
    response = relate(lossy, auth, ada["id"], bob["id"], "friend")

    assert proxy.lost_commits == 1
    assert response.status_code == 201, response.text
    assert stored_events(lossy, ada["id"]) == [1, 2]
    listed = lossy.get(f"{PEOPLE}/{ada['id']}/relationships", headers=auth).json()["items"]
    assert [r["id"] for r in listed] == [response.json()["id"]]


def test_a_keyed_command_whose_commit_answer_was_lost_is_answered_as_the_first_try(
    lossy: Client, proxy: CommitLosingProxy, auth: dict[str, str]
) -> None:
    headers = {**auth, "Idempotency-Key": "lost-commit-1"}
    proxy.arm()
    response = lossy.post(PEOPLE, json={"first_name": "Ada"}, headers=headers)

    assert proxy.lost_commits == 1
    assert response.status_code == 201, response.text
    assert "pcem-position" in response.headers  # the first answer, not a replay
    assert stored_events(lossy, response.json()["id"]) == [1]
