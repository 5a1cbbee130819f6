"""Finding people by a word, a metadata key or a (nested) metadata value."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.api_helpers import PEOPLE, Client, create_person


@pytest.fixture
def household(client: Client, auth: dict[str, str]) -> dict[str, str]:
    people = {
        "ada": create_person(
            client,
            auth,
            first_name="Ada",
            last_name="Lovelace",
            primary_contact="ada@example.org",
            metadata={
                "favorite_book": "Dune",
                "kids": {"school": "Hillside", "count": 2},
                "tags": ["math", "poetry"],
                "linkedin_url": "https://in.example/ada",
            },
        ),
        "bob": create_person(
            client,
            auth,
            first_name="Bob",
            last_name="Hill",
            metadata={"favorite_book": None, "kids": {"school": "Riverside"}, "tags": ["chess"]},
        ),
        "cy": create_person(
            client,
            auth,
            first_name="Cy",
            last_name="Young",
            metadata={"age": 41, "pct": "100%_sure"},
        ),
    }
    return {name: p["id"] for name, p in people.items()}


def found(client: Client, auth: dict[str, str], **params: Any) -> set[str]:
    response = client.get(PEOPLE, params=params, headers=auth)
    assert response.status_code == 200, response.text
    return {p["id"] for p in response.json()["items"]}


def test_q_matches_names_contact_and_metadata_values_case_insensitively(
    client: Client, auth: dict[str, str], household: dict[str, str]
) -> None:
    assert found(client, auth, q="HILL") == {household["ada"], household["bob"]}  # Hillside, Hill
    assert found(client, auth, q="example.org") == {household["ada"]}
    assert found(client, auth, q="dune") == {household["ada"]}
    assert found(client, auth, q="chess") == {household["bob"]}  # inside an array
    assert found(client, auth, q="41") == {household["cy"]}  # numbers are values too
    assert found(client, auth, q="favorite_book") == set()  # keys are not values
    assert found(client, auth, q="100%_") == {household["cy"]}  # no wildcard surprises
    assert found(client, auth, q="%") == {household["cy"]}


def test_has_key_requires_every_key_present_and_not_null(
    client: Client, auth: dict[str, str], household: dict[str, str]
) -> None:
    assert found(client, auth, has_key="favorite_book") == {household["ada"]}  # Bob's is null
    assert found(client, auth, has_key="kids") == {household["ada"], household["bob"]}
    assert found(client, auth, has_key=["kids", "linkedin_url"]) == {household["ada"]}
    assert found(client, auth, has_key="shoe_size") == set()


def test_meta_matches_by_containment_including_nested_objects_and_arrays(
    client: Client, auth: dict[str, str], household: dict[str, str]
) -> None:
    def meta(value: object) -> set[str]:
        return found(client, auth, meta=json.dumps(value))

    assert meta({"kids": {"school": "Hillside"}}) == {household["ada"]}
    assert meta({"tags": ["poetry"]}) == {household["ada"]}
    assert meta({"age": 41}) == {household["cy"]}
    assert meta({"age": "41"}) == set()  # types matter
    assert meta({}) == set(household.values())


def test_filters_combine(client: Client, auth: dict[str, str], household: dict[str, str]) -> None:
    assert found(client, auth, q="hill", has_key="tags", meta=json.dumps({"tags": ["chess"]})) == {
        household["bob"]
    }


def test_search_never_sees_another_users_people(
    client: Client, auth: dict[str, str], household: dict[str, str], token_for: Any
) -> None:
    stranger = {"Authorization": f"Bearer {token_for('stranger-' + household['ada'])}"}

    assert found(client, stranger, q="a") == set()
    assert found(client, stranger, has_key="kids") == set()
    assert found(client, stranger, meta=json.dumps({"kids": {"school": "Hillside"}})) == set()


def test_each_user_finds_only_their_own_people_by_every_filter(
    client: Client, auth: dict[str, str], household: dict[str, str], token_for: Any
) -> None:
    stranger = {"Authorization": f"Bearer {token_for('twin-' + household['ada'])}"}
    twin = create_person(
        client, stranger, first_name="Ada", last_name="Lovelace",
        metadata={"kids": {"school": "Hillside"}, "linkedin_url": "https://in.example/ada"},
    )["id"]  # fmt: skip
    searches: list[dict[str, Any]] = [
        {"q": "hillside"},
        {"has_key": "linkedin_url"},
        {"meta": json.dumps({"kids": {"school": "Hillside"}})},
    ]

    assert [found(client, auth, **s) for s in searches] == [{household["ada"]}] * 3
    assert [found(client, stranger, **s) for s in searches] == [{twin}] * 3


def test_q_takes_a_backslash_literally(client: Client, auth: dict[str, str]) -> None:
    path = create_person(client, auth, metadata={"path": "C:\\Users"})["id"]
    create_person(client, auth, metadata={"path": "C:Users"})

    assert found(client, auth, q="c:\\users") == {path}
    assert found(client, auth, q="\\") == {path}
