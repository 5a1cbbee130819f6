"""People endpoints of the Foundation, end to end through the real app and servers."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import TestClient

from pcem.api.app import create_app
from pcem.cli.tokens import mint_token
from pcem.settings import Settings
from pcem.wiring import build_container
from tests.conftest import TokenFactory
from tests.integration.api_helpers import PEOPLE, Client


def create(client: Client, auth: dict[str, str], **body: Any) -> Any:
    response = client.post(PEOPLE, json={"first_name": "Ada", **body}, headers=auth)
    assert response.status_code == 201, response.text
    return response


def test_created_person_is_answered_with_location_etag_and_position(
    client: Client, auth: dict[str, str]
) -> None:
    response = create(
        client,
        auth,
        last_name="Lovelace",
        primary_contact="ada@example.org",
        metadata={"favorite_book": "Dune", "kids": [{"school": "Hillside"}]},
    )

    person = response.json()
    assert response.headers["location"] == f"{PEOPLE}/{person['id']}"
    assert response.headers["etag"] == 'W/"1"'
    assert int(response.headers["pcem-position"]) > 0
    assert person["first_name"] == "Ada" and person["last_name"] == "Lovelace"
    assert person["metadata"] == {"favorite_book": "Dune", "kids": [{"school": "Hillside"}]}
    assert person["version"] == 1
    assert person["created_at"].endswith("Z") and person["created_at"] == person["updated_at"]


def test_a_new_person_is_readable_at_once_alone_and_in_the_list(
    client: Client, auth: dict[str, str]
) -> None:
    created = create(client, auth, last_name="Lovelace").json()

    # No sleeping: the query waits for the projection to reach the caller's write.
    alone = client.get(f"{PEOPLE}/{created['id']}", headers=auth)
    listed = client.get(PEOPLE, headers=auth)

    assert alone.status_code == 200
    assert alone.json() == created
    assert alone.headers["etag"] == 'W/"1"'
    assert [p["id"] for p in listed.json()["items"]] == [created["id"]]


def test_another_users_person_is_404_and_absent_from_their_list(
    client: Client, auth: dict[str, str], token_for: TokenFactory
) -> None:
    created = create(client, auth).json()
    intruder = {"Authorization": f"Bearer {token_for('intruder-' + uuid.uuid4().hex)}"}

    response = client.get(f"{PEOPLE}/{created['id']}", headers=intruder)
    missing = client.get(f"{PEOPLE}/{uuid.uuid4()}", headers=intruder)

    assert response.status_code == 404
    own = {key: response.json()[key] for key in ("detail", "request_id")}  # per request
    assert response.json() == missing.json() | own
    assert response.headers["content-type"].startswith("application/problem+json")
    assert client.get(PEOPLE, headers=intruder).json() == {"items": [], "next_cursor": None}


def test_unknown_person_is_404_problem(client: Client, auth: dict[str, str]) -> None:
    response = client.get(f"{PEOPLE}/{uuid.uuid4()}", headers=auth)

    assert response.status_code == 404
    assert response.json()["status"] == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "first_name"),
        ({"first_name": ""}, "first_name"),
        ({"first_name": "   "}, "first_name"),
        ({"first_name": "a" * 101}, "first_name"),
        ({"first_name": 7}, "first_name"),
        ({"first_name": "Ada\u0000"}, "first_name"),
        ({"first_name": "Ada", "last_name": "b" * 101}, "last_name"),
        ({"first_name": "Ada", "last_name": None}, "last_name"),
        ({"first_name": "Ada", "primary_contact": "c" * 201}, "primary_contact"),
        ({"first_name": "Ada", "primary_contact": 12}, "primary_contact"),
        ({"first_name": "Ada", "metadata": []}, "metadata"),
        ({"first_name": "Ada", "metadata": "text"}, "metadata"),
        ({"first_name": "Ada", "metadata": {"notes": "x" * 17000}}, "metadata"),
        ({"first_name": "Ada", "metadata": {"k": "nul\u0000"}}, "metadata"),
        ({"first_name": "Ada", "metadata": {"a": [[[[[[[[1]]]]]]]]}}, "metadata"),  # 9 levels
        ({"first_name": "Ada", "metadata": {f"k{n}": n for n in range(101)}}, "metadata"),
        ({"first_name": "Ada", "metadata": {"k": list(range(1000))}}, "metadata"),
        ({"first_name": "Ada", "nickname": "Countess"}, "nickname"),
    ],
)
def test_bad_input_is_400_naming_the_field(
    client: Client, auth: dict[str, str], body: dict[str, Any], field: str
) -> None:
    response = client.post(PEOPLE, json=body, headers=auth)

    assert response.status_code == 400, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert {"type", "title", "status", "detail"} <= problem.keys()
    assert field in [e["field"] for e in problem["errors"]]


def test_metadata_nested_past_what_json_decoding_allows_is_400(
    client: Client, auth: dict[str, str]
) -> None:
    deep = b'{"first_name": "Ada", "metadata": {"a": ' + b"[" * 5000 + b"]" * 5000 + b"}}"
    response = client.post(
        PEOPLE, content=deep, headers={**auth, "content-type": "application/json"}
    )
    search = client.get(
        PEOPLE, params={"meta": '{"a": ' + "[" * 2000 + "]" * 2000 + "}"}, headers=auth
    )

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "body", "message": "is nested too deeply to read"}
    ]
    assert search.status_code == 400
    assert search.json()["errors"][0]["field"] == "meta"


def test_a_metadata_patch_nested_too_deeply_is_400_naming_metadata(
    client: Client, auth: dict[str, str]
) -> None:
    created = create(client, auth).json()
    patch = {"metadata": {"a": [[[[[[[["nine levels"]]]]]]]]}}

    response = client.patch(f"{PEOPLE}/{created['id']}", json=patch, headers=auth)

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "metadata", "message": "metadata nests deeper than 8 levels"}
    ]


@pytest.mark.parametrize("raw", [b"{", b"not json", b"[1, 2]", b"null", b""])
def test_malformed_body_is_400_problem(client: Client, auth: dict[str, str], raw: bytes) -> None:
    response = client.post(
        PEOPLE, content=raw, headers={**auth, "content-type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json()["errors"]


def test_body_over_64_kib_is_413(client: Client, auth: dict[str, str]) -> None:
    body = b'{"first_name": "' + b"a" * (64 * 1024) + b'"}'

    response = client.post(
        PEOPLE, content=body, headers={**auth, "content-type": "application/json"}
    )

    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["detail"] == "the body is over 64 KiB"


def test_metadata_shaped_like_internal_markers_round_trips(
    client: Client, auth: dict[str, str]
) -> None:
    tricky = {"_type_": "uuid_hex", "_data_": "not-a-uuid", "nested": {"_type_": 1, "_data_": [1]}}
    created = create(client, auth, metadata={"weird": tricky}).json()

    assert client.get(f"{PEOPLE}/{created['id']}", headers=auth).json()["metadata"] == {
        "weird": tricky
    }


def test_unicode_survives_the_round_trip(client: Client, auth: dict[str, str]) -> None:
    created = create(
        client, auth, first_name="Zoë", last_name="Ødegård 李", metadata={"emoji": "🎂"}
    ).json()

    person = client.get(f"{PEOPLE}/{created['id']}", headers=auth).json()

    assert (person["first_name"], person["last_name"], person["metadata"]) == (
        "Zoë",
        "Ødegård 李",
        {"emoji": "🎂"},
    )


def test_list_pages_follow_last_first_id_order_without_gaps_or_repeats(
    client: Client, auth: dict[str, str]
) -> None:
    names = [(f"First{i % 7}", f"Last{i % 11:02d}") for i in range(120)]
    ids = {
        create(client, auth, first_name=f, last_name=last).json()["id"]: (last, f)
        for f, last in names
    }

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 50} | ({"cursor": cursor} if cursor else {})
        page = client.get(PEOPLE, params=params, headers=auth).json()
        seen += [p["id"] for p in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert pages == 3
    assert len(seen) == len(set(seen)) == 120
    assert seen == sorted(ids, key=lambda i: (*ids[i], i))


def test_tampered_cursor_is_400(client: Client, auth: dict[str, str]) -> None:
    for _ in range(3):
        create(client, auth)
    cursor = client.get(PEOPLE, params={"limit": 1}, headers=auth).json()["next_cursor"]
    tampered = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")

    response = client.get(PEOPLE, params={"cursor": tampered}, headers=auth)

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "cursor"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"meta": "[1]"}, "meta"),
        ({"meta": "{bad"}, "meta"),
        ({"q": "a" * 201}, "q"),
    ],
)
def test_bad_list_parameters_are_400(
    client: Client, auth: dict[str, str], params: dict[str, Any], field: str
) -> None:
    response = client.get(PEOPLE, params=params, headers=auth)

    assert response.status_code == 400
    assert field in [e["field"] for e in response.json()["errors"]]


@pytest.mark.parametrize("value", ["soon", "null", "-1", "1.5", ""])  # as the schema says
def test_min_position_header_must_be_a_position(
    client: Client, auth: dict[str, str], value: str
) -> None:
    response = client.get(PEOPLE, headers={**auth, "PCEM-Min-Position": value})

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "PCEM-Min-Position"


def test_a_position_no_event_has_is_refused_at_once(client: Client, auth: dict[str, str]) -> None:
    started = time.monotonic()
    response = client.get(PEOPLE, headers={**auth, "PCEM-Min-Position": str(2**62)})

    assert time.monotonic() - started < 1  # no 5 s wait for what can never come
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "PCEM-Min-Position"
    assert "no event has position" in response.json()["errors"][0]["message"]


def test_waiting_for_projections_that_do_not_move_is_a_bounded_503(isolated: Settings) -> None:
    container = build_container(isolated, pool_size=2)
    container.read_wait_seconds = 0.3
    written = container.people.create_person("u1", first_name="Ada")  # no projector runs here
    token = mint_token(isolated.jwt, "u1", ttl=timedelta(minutes=5))
    try:
        with TestClient(create_app(container)) as client:
            response = client.get(
                PEOPLE,
                headers={
                    "Authorization": f"Bearer {token}",
                    "PCEM-Min-Position": str(written.position),
                },
            )
    finally:
        container.close()

    assert response.status_code == 503
    assert response.headers["retry-after"]


def test_min_position_already_reached_answers_at_once(client: Client, auth: dict[str, str]) -> None:
    position = create(client, auth).headers["pcem-position"]

    response = client.get(PEOPLE, headers={**auth, "PCEM-Min-Position": position})

    assert response.status_code == 200
    assert len(response.json()["items"]) == 1
