"""Directed relationships between a user's people."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.conftest import TokenFactory
from tests.integration.api_helpers import PEOPLE, Client, bearer, create_person, relate


def test_added_relationship_is_answered_and_listed_by_direction(
    client: Client, auth: dict[str, str]
) -> None:
    ada, bob, cy = (create_person(client, auth, first_name=n) for n in ("Ada", "Bob", "Cy"))

    added = relate(client, auth, ada["id"], bob["id"], "spouse")
    relate(client, auth, cy["id"], ada["id"], "child")

    assert added.status_code == 201
    body = added.json()
    assert (body["source_id"], body["target_id"], body["type"]) == (ada["id"], bob["id"], "spouse")
    assert body["created_at"].endswith("Z")

    def listed(direction: str) -> list[tuple[str, str, str]]:
        page = client.get(
            f"{PEOPLE}/{ada['id']}/relationships", params={"direction": direction}, headers=auth
        )
        assert page.status_code == 200
        return [(r["source_id"], r["target_id"], r["type"]) for r in page.json()["items"]]

    assert listed("out") == [(ada["id"], bob["id"], "spouse")]
    assert listed("in") == [(cy["id"], ada["id"], "child")]
    assert listed("both") == [(ada["id"], bob["id"], "spouse"), (cy["id"], ada["id"], "child")]
    assert (
        client.get(f"{PEOPLE}/{ada['id']}/relationships", headers=auth).json()["items"][0]["id"]
        == body["id"]
    )


def test_adding_a_relationship_bumps_the_source_version(
    client: Client, auth: dict[str, str]
) -> None:
    ada, bob = create_person(client, auth), create_person(client, auth)

    relate(client, auth, ada["id"], bob["id"], "friend")

    assert client.get(f"{PEOPLE}/{ada['id']}", headers=auth).headers["etag"] == 'W/"2"'
    assert client.get(f"{PEOPLE}/{bob['id']}", headers=auth).headers["etag"] == 'W/"1"'


def test_self_link_is_400_and_duplicate_is_409(client: Client, auth: dict[str, str]) -> None:
    ada, bob = create_person(client, auth), create_person(client, auth)
    relate(client, auth, ada["id"], bob["id"], "colleague")

    self_link = relate(client, auth, ada["id"], ada["id"], "self")
    duplicate = relate(client, auth, ada["id"], bob["id"], "colleague")
    other_type = relate(client, auth, ada["id"], bob["id"], "friend")
    reverse = relate(client, auth, bob["id"], ada["id"], "colleague")

    assert self_link.status_code == 400
    assert self_link.json()["errors"][0]["field"] == "target_id"
    assert duplicate.status_code == 409
    assert other_type.status_code == reverse.status_code == 201


def test_target_that_is_not_yours_or_missing_is_404(
    client: Client, auth: dict[str, str], token_for: TokenFactory
) -> None:
    ada = create_person(client, auth)
    stranger = create_person(client, bearer(token_for(f"other-{uuid.uuid4()}")))

    assert relate(client, auth, ada["id"], stranger["id"], "friend").status_code == 404
    assert relate(client, auth, ada["id"], str(uuid.uuid4()), "friend").status_code == 404
    assert client.get(f"{PEOPLE}/{ada['id']}/relationships", headers=auth).json()["items"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "friend"}, "target_id"),
        ({"target_id": "nope", "type": "friend"}, "target_id"),
        ({"target_id": str(uuid.uuid4()), "type": ""}, "type"),
        ({"target_id": str(uuid.uuid4()), "type": "x" * 51}, "type"),
        ({"target_id": str(uuid.uuid4())}, "type"),
    ],
)
def test_bad_relationship_input_is_400(
    client: Client, auth: dict[str, str], body: dict[str, Any], field: str
) -> None:
    ada = create_person(client, auth)

    response = client.post(f"{PEOPLE}/{ada['id']}/relationships", json=body, headers=auth)

    assert response.status_code == 400
    assert field in [e["field"] for e in response.json()["errors"]]


def test_removed_relationship_disappears_and_a_second_removal_is_404(
    client: Client, auth: dict[str, str]
) -> None:
    ada, bob = create_person(client, auth), create_person(client, auth)
    rel = relate(client, auth, ada["id"], bob["id"], "friend").json()
    url = f"{PEOPLE}/{ada['id']}/relationships/{rel['id']}"

    assert client.delete(url, headers=auth).status_code == 204
    assert client.get(f"{PEOPLE}/{ada['id']}/relationships", headers=auth).json()["items"] == []
    assert client.delete(url, headers=auth).status_code == 404
    assert relate(client, auth, ada["id"], bob["id"], "friend").status_code == 201


def test_direction_must_be_out_in_or_both(client: Client, auth: dict[str, str]) -> None:
    ada = create_person(client, auth)

    response = client.get(
        f"{PEOPLE}/{ada['id']}/relationships", params={"direction": "up"}, headers=auth
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "direction"


def test_relationships_page_with_cursors(client: Client, auth: dict[str, str]) -> None:
    ada = create_person(client, auth)
    others = [create_person(client, auth)["id"] for _ in range(5)]
    for other in others:
        relate(client, auth, ada["id"], other, "friend")

    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get(f"{PEOPLE}/{ada['id']}/relationships", params=params, headers=auth).json()
        seen += [r["target_id"] for r in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break

    assert seen == others
