"""Idempotency-Key on POST: replay, conflicting reuse, in-flight requests."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import redis

from pcem.wiring import Container
from tests.integration.api_helpers import PEOPLE, Client, create_person


def post_person(client: Any, auth: dict[str, str], key: str, **body: Any) -> Any:
    return client.post(
        PEOPLE, json={"first_name": "Ada", **body}, headers={**auth, "Idempotency-Key": key}
    )


def test_same_key_and_body_replays_the_first_answer_and_creates_once(
    client: Client, auth: dict[str, str]
) -> None:
    first = post_person(client, auth, "create-ada-1", metadata={"a": 1})
    client.patch(f"{PEOPLE}/{first.json()['id']}", json={"last_name": "Changed"}, headers=auth)

    second = post_person(client, auth, "create-ada-1", metadata={"a": 1})

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["location"] == first.headers["location"]
    assert len(client.get(PEOPLE, headers=auth).json()["items"]) == 1


def test_same_key_with_a_different_body_is_422(client: Client, auth: dict[str, str]) -> None:
    post_person(client, auth, "k-2")

    response = post_person(client, auth, "k-2", first_name="Bob")

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert len(client.get(PEOPLE, headers=auth).json()["items"]) == 1


def test_keys_belong_to_one_user(client: Client, auth: dict[str, str], token_for: Any) -> None:
    other = {"Authorization": f"Bearer {token_for('someone-' + auth['Authorization'][-12:])}"}

    mine = post_person(client, auth, "shared-key")
    theirs = post_person(client, other, "shared-key")

    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]


def test_request_with_a_key_still_in_flight_is_409(
    client: Client, auth: dict[str, str], user_id: str, container: Container
) -> None:
    # given a first request holding the key (its in-flight marker is set)
    digest = hashlib.sha256(b"slow-key").hexdigest()
    lock = f"pcem:idempotency:{user_id}:{digest}"
    container.redis.set(lock, "first-request", px=5000)
    try:
        # when the client retries meanwhile
        response = post_person(client, auth, "slow-key")
    finally:
        container.redis.delete(lock)

    # then it is told to retry later, and nothing was created
    assert response.status_code == 409
    assert client.get(PEOPLE, headers=auth).json()["items"] == []


def test_concurrent_requests_with_one_key_create_one_person(
    live_url: str, auth: dict[str, str]
) -> None:
    with httpx.Client(base_url=live_url) as http:
        with ThreadPoolExecutor(max_workers=8) as pool:
            responses = list(pool.map(lambda _: post_person(http, auth, "burst"), range(8)))
        people = http.get(PEOPLE, headers=auth).json()["items"]

    assert len(people) == 1
    assert {r.status_code for r in responses} <= {201, 409}
    assert {r.json()["id"] for r in responses if r.status_code == 201} == {people[0]["id"]}


def test_restore_and_relationship_posts_replay_too(client: Client, auth: dict[str, str]) -> None:
    ada, bob = create_person(client, auth), create_person(client, auth)
    url = f"{PEOPLE}/{ada['id']}/relationships"
    body = {"target_id": bob["id"], "type": "friend"}

    first = client.post(url, json=body, headers={**auth, "Idempotency-Key": "rel-1"})
    again = client.post(url, json=body, headers={**auth, "Idempotency-Key": "rel-1"})
    client.delete(f"{PEOPLE}/{ada['id']}", headers=auth)
    restored = client.post(
        f"{PEOPLE}/{ada['id']}/restore", headers={**auth, "Idempotency-Key": "r-1"}
    )
    restored_again = client.post(
        f"{PEOPLE}/{ada['id']}/restore", headers={**auth, "Idempotency-Key": "r-1"}
    )

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert restored.status_code == restored_again.status_code == 200
    assert restored_again.json() == restored.json()
    assert len(client.get(f"{PEOPLE}/{ada['id']}/history", headers=auth).json()["items"]) == 4


def test_key_longer_than_255_is_400(client: Client, auth: dict[str, str]) -> None:
    response = post_person(client, auth, "k" * 256)

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"


def test_expired_key_may_be_used_again(
    client: Client, auth: dict[str, str], user_id: str, container: Container
) -> None:
    first = post_person(client, auth, "old-key")
    with container.engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE idempotency_keys SET created_at = now() - interval '25 hours'"
            " WHERE user_id = %(u)s AND key = 'old-key'",
            {"u": user_id},
        )

    second = post_person(client, auth, "old-key", first_name="Bob")

    assert second.status_code == 201
    assert second.json()["id"] != first.json()["id"]


def test_redis_outage_does_not_break_keyed_requests(
    client: Client, auth: dict[str, str], container: Container
) -> None:
    working = container.idempotency.client
    container.idempotency.client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    try:
        first = post_person(client, auth, "no-redis")
        second = post_person(client, auth, "no-redis")
    finally:
        container.idempotency.client = working

    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
