"""A person whose keys are destroyed is erased from everything that reads the event
store: its stored states, every read and write (404), support's history (type, time
and actor only) and a rebuild, while everyone else's rows stay byte for byte."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from sqlalchemy import text

from pcem.projections.people_and_dates import PeopleAndDatesProjection
from pcem.projector.rebuild import Rebuild
from pcem.projector.verify import Verification
from pcem.wiring import Container
from tests.conftest import TokenFactory
from tests.integration.api_helpers import PEOPLE, Client, bearer, create_person, relate

EVENTS = "/api/v1/events"
SUPPORT = "/api/v1/support/aggregates"
SECRETS = (b"Adalinda", b"Lovelacewright", b"Analytical Engine", b"+44 7700 900123", b"Poetical")


def erased_person(client: Client, container: Container, auth: dict[str, str], user: str) -> Any:
    """Ada (with metadata, a dated note and a relationship each way with Bob), and Bob;
    then Ada's keys destroyed. Answers their ids."""
    ada = create_person(
        client,
        auth,
        first_name="Adalinda",
        metadata={"engine": "Analytical Engine", "phone": "+44 7700 900123"},
    )
    bob = create_person(client, auth, first_name="Bob")
    client.patch(f"{PEOPLE}/{ada['id']}", json={"last_name": "Lovelacewright"}, headers=auth)
    birthday = client.post(
        EVENTS,
        json={"person_id": ada["id"], "title": "Poetical science day", "event_date": "1815-12-10"},
        headers=auth,
    ).json()
    assert relate(client, auth, ada["id"], bob["id"], "friend").status_code == 201
    assert relate(client, auth, bob["id"], ada["id"], "friend").status_code == 201
    assert container.subject_keys.destroy_person(user, uuid.UUID(ada["id"])) == 2
    return ada["id"], bob["id"], birthday["id"]


def stored_states(container: Container, *ids: str) -> bytes:
    with container.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT state FROM pcem_events WHERE originator_id = ANY(CAST(:ids AS uuid[]))"),
            {"ids": list(ids)},
        )
        return b"".join(bytes(state) for (state,) in rows)


def rows_of(container: Container, user: str) -> list[Any]:
    with container.engine.connect() as conn:
        return [
            tuple(row)
            for table in ("people", "relationships", "events", "occurrences")
            for row in conn.execute(
                text(f"SELECT * FROM {table} WHERE user_id = :user ORDER BY 1"),
                {"user": user},
            )
        ]


def rebuilt_and_verified(container: Container) -> bool:
    projection = PeopleAndDatesProjection()
    rebuilt = Rebuild(projection, container.engine, container.people.mapper).run(threading.Event())
    result = Verification(projection, container.engine, container.people.mapper).run(
        threading.Event(), lambda position, head: None
    )
    return rebuilt and result is not None and result.identical


def test_an_erased_persons_stored_events_hold_none_of_their_data(
    client: Client, container: Container, auth: dict[str, str], user_id: str
) -> None:
    ada, _, birthday = erased_person(client, container, auth, user_id)

    states = stored_states(container, ada, birthday)

    assert states and not [secret for secret in SECRETS if secret in states]


def test_every_read_and_write_of_an_erased_person_is_not_found(
    client: Client, container: Container, auth: dict[str, str], user_id: str
) -> None:
    ada, _, birthday = erased_person(client, container, auth, user_id)

    answers = [
        client.get(f"{PEOPLE}/{ada}/history", headers=auth),
        client.get(f"{PEOPLE}/{ada}/history/1", headers=auth),
        client.get(f"{EVENTS}/{birthday}/history", headers=auth),
        client.patch(f"{PEOPLE}/{ada}", json={"first_name": "Back"}, headers=auth),
        client.delete(f"{PEOPLE}/{ada}", headers=auth),
        client.patch(f"{EVENTS}/{birthday}", json={"title": "Back"}, headers=auth),
    ]

    assert [a.status_code for a in answers] == [404] * len(answers)
    assert all(a.headers["content-type"] == "application/problem+json" for a in answers)


def test_support_sees_an_erased_persons_entries_as_type_time_and_actor_only(
    client: Client,
    container: Container,
    auth: dict[str, str],
    user_id: str,
    token_for: TokenFactory,
) -> None:
    ada, _, _ = erased_person(client, container, auth, user_id)

    answer = client.get(f"{SUPPORT}/{ada}/history", headers=bearer(token_for("agent", "support")))

    assert answer.status_code == 200
    body = answer.json()
    assert (body["aggregate_type"], body["owner"]) == ("Person", user_id)
    assert [item["type"] for item in body["items"]] == [
        "PersonCreated",
        "PersonUpdated",
        "EventAdded",  # as the live entry showed it
        "RelationshipAdded",
    ]
    assert {(item["actor"], str(item["changes"])) for item in body["items"]} == {(user_id, "{}")}
    assert not [secret for secret in SECRETS if secret.decode() in answer.text]


def test_a_rebuild_after_erasure_is_clean_and_leaves_everyone_elses_rows_as_they_were(
    client: Client,
    container: Container,
    auth: dict[str, str],
    user_id: str,
    token_for: TokenFactory,
) -> None:
    # given: another user, and Bob, who stays
    other = f"user-{uuid.uuid4()}"
    create_person(client, bearer(token_for(other)), first_name="Carol", metadata={"a": [1, 2]})
    ada, bob, _ = erased_person(client, container, auth, user_id)
    client.get(PEOPLE, headers=auth)  # caught up (read-your-writes)
    others_before = rows_of(container, other)

    # when
    assert rebuilt_and_verified(container)

    # then
    assert rows_of(container, other) == others_before
    assert client.get(f"{PEOPLE}/{ada}", headers=auth).status_code == 404
    assert client.get(f"{PEOPLE}/{bob}", headers=auth).json()["first_name"] == "Bob"
    related = client.get(f"{PEOPLE}/{bob}/relationships?direction=both", headers=auth).json()
    assert related["items"] == []  # Bob's relationship names Ada, who has no row any more
    assert client.get(f"{PEOPLE}/{bob}/history", headers=auth).status_code == 200


@pytest.fixture(autouse=True)
def _projector(projector: None) -> None:
    """The session's projector follows the store while these tests write."""
