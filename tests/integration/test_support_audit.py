"""Support reads any user's record and its whole story; every read is on record."""

from __future__ import annotations

import getpass
import json
import uuid
from typing import Any

import pytest
import sqlalchemy.exc
from sqlalchemy import text

from pcem.aggregates.settings import settings_id as settings_id_of
from pcem.settings import Settings
from pcem.wiring import Container
from tests.conftest import TokenFactory
from tests.integration.api_helpers import PEOPLE, Client, bearer, create_person, relate
from tests.integration.projection_helpers import pcem_env
from tests.integration.table_helpers import assert_aligned
from tests.integration.test_cli import pcem

SUPPORT = "/api/v1/support/aggregates"


@pytest.fixture
def support(token_for: TokenFactory) -> tuple[str, dict[str, str]]:
    agent = f"agent-{uuid.uuid4()}"
    return agent, bearer(token_for(agent, "support"))


def accesses(container: Container, aggregate_id: str) -> list[Any]:
    with container.engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT * FROM support_access_log WHERE aggregate_id = CAST(:id AS uuid)"
                    " ORDER BY id"
                ),
                {"id": aggregate_id},
            )
        )


def a_full_story(client: Client, auth: dict[str, str]) -> dict[str, Any]:
    ada = create_person(client, auth, first_name="Ada", metadata={"book": "Dune"})
    bob = create_person(client, auth, first_name="Bob")
    client.patch(f"{PEOPLE}/{ada['id']}", json={"last_name": "Lovelace"}, headers=auth)
    relate(client, auth, ada["id"], bob["id"], "friend")
    client.delete(f"{PEOPLE}/{ada['id']}", headers=auth)
    return ada


def test_support_reads_any_users_aggregate_with_its_owner_and_every_event(
    client: Client, auth: dict[str, str], user_id: str, support: tuple[str, dict[str, str]]
) -> None:
    ada = a_full_story(client, auth)

    response = client.get(f"{SUPPORT}/{ada['id']}/history", headers=support[1])

    assert response.status_code == 200
    body = response.json()
    assert (body["aggregate_id"], body["aggregate_type"], body["owner"]) == (
        ada["id"],
        "Person",
        user_id,
    )
    assert [e["type"] for e in body["items"]] == [
        "PersonCreated",
        "PersonUpdated",
        "RelationshipAdded",
        "PersonDeleted",
    ]
    assert [e["version"] for e in body["items"]] == [1, 2, 3, 4]
    assert {e["actor"] for e in body["items"]} == {user_id}
    assert body["items"][1]["changes"] == {"last_name": "Lovelace"}
    assert body["items"][0]["occurred_at"].endswith("Z")


def test_every_support_read_is_recorded_with_who_what_when_and_the_request(
    client: Client,
    auth: dict[str, str],
    container: Container,
    support: tuple[str, dict[str, str]],
) -> None:
    agent, headers = support
    ada = create_person(client, auth)

    for request_id in ("support-1", "support-2"):
        client.get(
            f"{SUPPORT}/{ada['id']}/history", headers={**headers, "X-Request-ID": request_id}
        )

    rows = accesses(container, ada["id"])
    assert [(r.actor, r.channel, r.found, r.request_id) for r in rows] == [
        (agent, "api", True, "support-1"),
        (agent, "api", True, "support-2"),
    ]
    assert rows[0].accessed_at <= rows[1].accessed_at


def test_an_unknown_id_is_404_and_the_attempt_is_still_recorded(
    client: Client, container: Container, support: tuple[str, dict[str, str]]
) -> None:
    unknown = str(uuid.uuid4())

    response = client.get(f"{SUPPORT}/{unknown}/history", headers=support[1])

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [r.found for r in accesses(container, unknown)] == [False]


def test_a_refused_caller_leaves_no_history_and_no_log_entry(
    client: Client, auth: dict[str, str], container: Container
) -> None:
    ada = create_person(client, auth)

    response = client.get(f"{SUPPORT}/{ada['id']}/history", headers=auth)  # no support role

    assert response.status_code == 403
    assert accesses(container, ada["id"]) == []


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE support_access_log SET actor = 'someone else'",
        "DELETE FROM support_access_log",
        "TRUNCATE support_access_log",
    ],
)
def test_the_access_log_cannot_be_edited_even_in_the_database(
    client: Client,
    auth: dict[str, str],
    container: Container,
    support: tuple[str, dict[str, str]],
    statement: str,
) -> None:
    ada = create_person(client, auth)
    client.get(f"{SUPPORT}/{ada['id']}/history", headers=support[1])

    with (
        pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"),
        container.engine.begin() as conn,
    ):
        conn.execute(text(statement))

    assert len(accesses(container, ada["id"])) == 1


def test_there_is_no_route_to_change_the_access_log(
    client: Client, support: tuple[str, dict[str, str]]
) -> None:
    some_id = uuid.uuid4()
    for method in ("PUT", "PATCH", "DELETE", "POST"):
        response = client.request(method, f"{SUPPORT}/{some_id}/history", headers=support[1])
        assert response.status_code == 405


@pytest.mark.slow  # starts `pcem` as a process
def test_the_cli_prints_the_same_history_and_records_the_operator(
    client: Client,
    auth: dict[str, str],
    settings: Settings,
    container: Container,
    support: tuple[str, dict[str, str]],
) -> None:
    ada = a_full_story(client, auth)
    api_body = client.get(f"{SUPPORT}/{ada['id']}/history", headers=support[1]).json()

    as_json = pcem("audit", "history", ada["id"], "--json", env=pcem_env(settings))
    as_table = pcem("audit", "history", ada["id"], "--operator", "agent-7", env=pcem_env(settings))

    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == api_body
    assert as_table.returncode == 0
    assert "PersonCreated" in as_table.stdout and "RelationshipAdded" in as_table.stdout
    assert_aligned(
        as_table.stdout.splitlines()[1:],  # under the line naming the owner
        left=["OCCURRED AT", "TYPE", "ACTOR", "CHANGES"],
        right=["VERSION"],
    )
    assert [r.actor for r in accesses(container, ada["id"])][-2:] == [getpass.getuser(), "agent-7"]
    assert [r.channel for r in accesses(container, ada["id"])][-2:] == ["cli", "cli"]


@pytest.mark.slow  # starts `pcem` as a process
def test_the_cli_says_when_an_id_is_unknown_or_malformed(settings: Settings) -> None:
    unknown = pcem("audit", "history", str(uuid.uuid4()), env=pcem_env(settings))
    malformed = pcem("audit", "history", "not-a-uuid", env=pcem_env(settings))

    assert unknown.returncode == 1 and "no aggregate" in unknown.stderr
    assert malformed.returncode == 2 and "Traceback" not in malformed.stderr


@pytest.mark.slow  # starts `pcem` as a process
def test_a_webhook_secret_never_shows_in_a_support_read(
    client: Client,
    auth: dict[str, str],
    user_id: str,
    settings: Settings,
    support: tuple[str, dict[str, str]],
) -> None:
    secret = "whsec_" + "c2VjcmV0LXNpZ25pbmcta2V5LTEyMzQ1Njc4"
    webhook = {"type": "webhook", "url": "https://hooks.example.org/pcem", "secret": secret}
    document = {"timezone": "UTC", "notifications": {"channels": [webhook]}}
    assert client.put("/api/v1/me/settings", json=document, headers=auth).status_code == 200
    settings_id = str(settings_id_of(user_id))

    over_api = client.get(f"{SUPPORT}/{settings_id}/history", headers=support[1])
    as_json = pcem("audit", "history", settings_id, "--json", env=pcem_env(settings))
    as_table = pcem("audit", "history", settings_id, env=pcem_env(settings))

    assert over_api.status_code == 200 and as_json.returncode == 0 and as_table.returncode == 0
    for shown in (over_api.text, as_json.stdout, as_table.stdout, as_table.stderr):
        assert secret not in shown
    changed = over_api.json()["items"][-1]["changes"]
    assert changed["settings"]["notifications"]["channels"] == [
        {"type": "webhook", "url": "https://hooks.example.org/pcem", "secret": "[redacted]"}
    ]
    assert json.loads(as_json.stdout) == over_api.json()
