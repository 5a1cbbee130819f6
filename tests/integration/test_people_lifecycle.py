"""Update, delete, restore and history of people, through the real app and servers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from freezegun import freeze_time

from tests.conftest import TokenFactory
from tests.integration.api_helpers import PEOPLE, Client, bearer, create_person, relate


def test_patch_sets_fields_and_merge_patches_metadata(client: Client, auth: dict[str, str]) -> None:
    ada = create_person(
        client, auth, metadata={"book": "Dune", "kids": {"school": "Hillside", "n": 2}}
    )

    response = client.patch(
        f"{PEOPLE}/{ada['id']}",
        json={
            "last_name": "Lovelace",
            "primary_contact": "ada@example.org",
            "metadata": {"book": None, "kids": {"n": 3}, "linkedin_url": "https://l.example/ada"},
        },
        headers=auth,
    )

    assert response.status_code == 200
    assert response.headers["etag"] == 'W/"2"'
    changed = response.json()
    assert changed["metadata"] == {
        "kids": {"school": "Hillside", "n": 3},
        "linkedin_url": "https://l.example/ada",
    }
    assert (changed["last_name"], changed["primary_contact"], changed["version"]) == (
        "Lovelace",
        "ada@example.org",
        2,
    )
    assert client.get(f"{PEOPLE}/{ada['id']}", headers=auth).json() == changed


def test_patch_can_clear_the_primary_contact(client: Client, auth: dict[str, str]) -> None:
    ada = create_person(client, auth, primary_contact="ada@example.org")

    response = client.patch(f"{PEOPLE}/{ada['id']}", json={"primary_contact": None}, headers=auth)

    assert response.json()["primary_contact"] is None


def test_patch_that_changes_nothing_keeps_the_version(client: Client, auth: dict[str, str]) -> None:
    ada = create_person(client, auth)

    response = client.patch(f"{PEOPLE}/{ada['id']}", json={"first_name": "Ada"}, headers=auth)

    assert response.status_code == 200
    assert response.json()["version"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"first_name": ""}, "first_name"),
        ({"last_name": 3}, "last_name"),
        ({"metadata": [1]}, "metadata"),
        ({"metadata": {"x": "y" * 17000}}, "metadata"),
        ({"age": 3}, "age"),
        ({"first_name": None}, "first_name"),
    ],
)
def test_bad_patch_is_400_naming_the_field(
    client: Client, auth: dict[str, str], body: dict[str, Any], field: str
) -> None:
    ada = create_person(client, auth)

    response = client.patch(f"{PEOPLE}/{ada['id']}", json=body, headers=auth)

    assert response.status_code == 400
    assert field in [e["field"] for e in response.json()["errors"]]
    assert client.get(f"{PEOPLE}/{ada['id']}", headers=auth).json()["version"] == 1


def test_if_match_guards_patch_and_delete(client: Client, auth: dict[str, str]) -> None:
    ada = create_person(client, auth)
    url = f"{PEOPLE}/{ada['id']}"

    assert (
        client.patch(
            url, json={"last_name": "A"}, headers={**auth, "If-Match": 'W/"1"'}
        ).status_code
        == 200
    )
    stale = client.patch(url, json={"last_name": "B"}, headers={**auth, "If-Match": 'W/"1"'})
    garbage = client.patch(url, json={"last_name": "C"}, headers={**auth, "If-Match": "yesterday"})
    stale_delete = client.delete(url, headers={**auth, "If-Match": 'W/"1"'})

    assert stale.status_code == garbage.status_code == stale_delete.status_code == 412
    assert stale.headers["content-type"].startswith("application/problem+json")
    assert client.get(url, headers=auth).json()["last_name"] == "A"
    assert client.delete(url, headers={**auth, "If-Match": 'W/"2"'}).status_code == 204


def test_deleted_person_vanishes_with_their_relationships_and_restore_brings_all_back(
    client: Client, auth: dict[str, str]
) -> None:
    ada, bob = (
        create_person(client, auth, last_name="A"),
        create_person(client, auth, last_name="B"),
    )
    relate(client, auth, ada["id"], bob["id"], "spouse")
    relate(client, auth, bob["id"], ada["id"], "spouse")

    assert client.delete(f"{PEOPLE}/{ada['id']}", headers=auth).status_code == 204

    assert client.get(f"{PEOPLE}/{ada['id']}", headers=auth).status_code == 404
    assert [p["id"] for p in client.get(PEOPLE, headers=auth).json()["items"]] == [bob["id"]]
    assert (
        client.get(
            f"{PEOPLE}/{bob['id']}/relationships", params={"direction": "both"}, headers=auth
        ).json()["items"]
        == []
    )
    assert (
        client.patch(f"{PEOPLE}/{ada['id']}", json={"last_name": "X"}, headers=auth).status_code
        == 404
    )
    assert client.delete(f"{PEOPLE}/{ada['id']}", headers=auth).status_code == 404
    assert relate(client, auth, bob["id"], ada["id"], "friend").status_code == 404

    restored = client.post(f"{PEOPLE}/{ada['id']}/restore", headers=auth)

    assert restored.status_code == 200
    assert restored.json()["version"] == 4
    assert len(client.get(PEOPLE, headers=auth).json()["items"]) == 2
    both = client.get(
        f"{PEOPLE}/{bob['id']}/relationships", params={"direction": "both"}, headers=auth
    ).json()
    assert len(both["items"]) == 2


def test_restoring_someone_not_deleted_changes_nothing(
    client: Client, auth: dict[str, str]
) -> None:
    ada = create_person(client, auth)

    response = client.post(f"{PEOPLE}/{ada['id']}/restore", headers=auth)

    assert response.status_code == 200
    assert response.json() == ada


def test_history_lists_every_change_with_type_time_actor_and_changes(
    client: Client, auth: dict[str, str], user_id: str
) -> None:
    ada, bob = create_person(client, auth, metadata={"k": 1}), create_person(client, auth)
    client.patch(f"{PEOPLE}/{ada['id']}", json={"metadata": {"k": None, "j": 2}}, headers=auth)
    rel = relate(client, auth, ada["id"], bob["id"], "friend").json()
    client.delete(f"{PEOPLE}/{ada['id']}/relationships/{rel['id']}", headers=auth)
    client.delete(f"{PEOPLE}/{ada['id']}", headers=auth)

    history = client.get(f"{PEOPLE}/{ada['id']}/history", headers=auth)

    assert history.status_code == 200  # also for a deleted person
    items = history.json()["items"]
    assert [i["type"] for i in items] == [
        "PersonCreated",
        "PersonUpdated",
        "RelationshipAdded",
        "RelationshipRemoved",
        "PersonDeleted",
    ]
    assert [i["version"] for i in items] == [1, 2, 3, 4, 5]
    assert {i["actor"] for i in items} == {user_id}
    assert items[0]["changes"] == {
        "first_name": "Ada",
        "last_name": "",
        "primary_contact": None,
        "metadata": {"k": 1},
    }
    assert items[1]["changes"] == {"metadata": {"j": 2}}
    assert items[2]["changes"] == {
        "relationship_id": rel["id"],
        "target_id": bob["id"],
        "type": "friend",
    }
    assert items[0]["occurred_at"] == ada["created_at"]
    assert items == sorted(items, key=lambda i: i["occurred_at"])


def test_person_at_a_version_is_as_it_was_then(client: Client, auth: dict[str, str]) -> None:
    ada = create_person(client, auth, last_name="Byron")
    client.patch(f"{PEOPLE}/{ada['id']}", json={"last_name": "Lovelace"}, headers=auth)
    client.delete(f"{PEOPLE}/{ada['id']}", headers=auth)

    first = client.get(f"{PEOPLE}/{ada['id']}/history/1", headers=auth)
    second = client.get(f"{PEOPLE}/{ada['id']}/history/2", headers=auth)

    assert first.status_code == 200 and first.json() == ada
    assert first.headers["etag"] == 'W/"1"'
    assert second.json()["last_name"] == "Lovelace"
    assert client.get(f"{PEOPLE}/{ada['id']}/history/4", headers=auth).status_code == 404
    assert client.get(f"{PEOPLE}/{ada['id']}/history/0", headers=auth).status_code == 404


def test_person_as_of_an_instant_is_as_it_was_then(
    client: Client, user_id: str, token_for: TokenFactory, auth: dict[str, str]
) -> None:
    with freeze_time("2026-01-10T12:00:00Z"):
        ada = create_person(client, bearer(token_for(user_id)), last_name="Byron")
    with freeze_time("2026-03-01T08:00:00Z"):
        client.patch(
            f"{PEOPLE}/{ada['id']}",
            json={"last_name": "Lovelace"},
            headers=bearer(token_for(user_id)),
        )
    url = f"{PEOPLE}/{ada['id']}"

    def as_of(moment: str) -> Any:
        return client.get(url, params={"as_of": moment}, headers=auth)

    assert as_of("2026-01-10T11:59:59Z").status_code == 404
    assert as_of("2026-01-10T12:00:00Z").json()["last_name"] == "Byron"
    assert as_of("2026-02-28T23:00:00-05:00").json()["last_name"] == "Byron"  # 04:00 UTC
    assert as_of("2026-03-01T09:00:00+01:00").json()["last_name"] == "Lovelace"
    for bad in ("yesterday", "2026-03-01", "2026-03-01T09:00:00"):
        response = as_of(bad)
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "as_of"


def test_as_of_a_moment_the_person_was_deleted_is_404_like_a_plain_read(
    client: Client, user_id: str, token_for: TokenFactory, auth: dict[str, str]
) -> None:
    with freeze_time("2026-01-10T12:00:00Z"):
        ada = create_person(client, bearer(token_for(user_id)), last_name="Byron")
    with freeze_time("2026-02-01T12:00:00Z"):
        client.delete(f"{PEOPLE}/{ada['id']}", headers=bearer(token_for(user_id)))
    with freeze_time("2026-03-01T12:00:00Z"):
        client.post(f"{PEOPLE}/{ada['id']}/restore", headers=bearer(token_for(user_id)))
    url = f"{PEOPLE}/{ada['id']}"

    def as_of(moment: str) -> Any:
        return client.get(url, params={"as_of": moment}, headers=auth)

    assert as_of("2026-02-01T11:59:59Z").json()["last_name"] == "Byron"
    deleted = as_of("2026-02-01T12:00:00Z")
    assert deleted.status_code == 404
    assert deleted.headers["content-type"] == "application/problem+json"
    assert as_of("2026-02-28T00:00:00Z").status_code == 404
    restored = as_of("2026-03-01T12:00:00Z")
    assert (restored.status_code, restored.json()["version"]) == (200, 3)
    # Deleted now: a moment after the deletion answers as the plain read does.
    client.delete(url, headers=auth)
    after = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    assert as_of(after).status_code == client.get(url, headers=auth).status_code == 404


def test_history_of_unknown_person_is_404(client: Client, auth: dict[str, str]) -> None:
    assert client.get(f"{PEOPLE}/{uuid.uuid4()}/history", headers=auth).status_code == 404
