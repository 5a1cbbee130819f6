"""Contact imports over HTTP, with the worker's part run in the test: what a file makes,
what a second import of it changes (nothing), an edited file (updates, with history),
a dry run, and the answers to files PCEM does not take."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from pcem.wiring import Container
from tests.integration.import_helpers import (
    CONTACTS,
    IMPORTS,
    PEOPLE,
    by_name,
    caught_up,
    counts,
    imported,
    people,
    send,
)

Client = TestClient[Any]
PROBLEM = "application/problem+json"
ROUND = (CONTACTS / "round.vcf").read_bytes()


def upcoming_birthdays(client: Client, container: Container, auth: dict[str, str]) -> set[str]:
    response = client.get(
        "/api/v1/events/upcoming",
        params={"from": "2027-01-01T00:00:00Z", "to": "2028-01-01T00:00:00Z"},
        headers=caught_up(container, auth),
    )
    assert response.status_code == 200, response.text
    return {f"{o['person_name']}: {o['title']} {o['local_date']}" for o in response.json()["items"]}


def test_a_file_becomes_people_dates_and_relationships(
    client: Client, container: Container, auth: dict[str, str]
) -> None:
    done = imported(client, container, auth, ROUND)

    assert done["status"] == "done" and done["format"] == "vcard" and not done["dry_run"]
    assert counts(done) == {
        "total": 3, "processed": 3, "created": 3, "updated": 0, "unchanged": 0, "skipped": 0
    }  # fmt: skip
    assert done["finished_at"] is not None
    found = by_name(people(client, container, auth))
    assert set(found) == {"Ada Lovelace", "William King", "Leap Day"}
    ada = found["Ada Lovelace"]
    assert ada["primary_contact"] == "ada@analytical.example"  # the preferred one
    assert ada["metadata"]["note"] == "Wrote the first program"
    assert {e["value"] for e in ada["metadata"]["emails"]} == {
        "ada@example.org",
        "ada@analytical.example",
    }
    assert upcoming_birthdays(client, container, auth) == {
        "Ada Lovelace: Birthday 2027-12-10",  # year-less, every year
        "William King: Birthday 2027-02-21",
        "William King: Anniversary 2027-07-08",
        "Leap Day: Birthday 2027-02-28",  # 29 February, in a common year
    }
    relationships = client.get(
        f"{PEOPLE}/{ada['id']}/relationships", headers=caught_up(container, auth)
    ).json()["items"]
    assert [(r["target_id"], r["type"]) for r in relationships] == [
        (found["William King"]["id"], "spouse")
    ]


def test_importing_the_same_file_again_changes_nothing(
    client: Client, container: Container, auth: dict[str, str]
) -> None:
    imported(client, container, auth, ROUND)
    before = people(client, container, auth)
    head = container.people.recorder.max_notification_id()

    again = imported(client, container, auth, ROUND)

    assert counts(again) == {
        "total": 3, "processed": 3, "created": 0, "updated": 0, "unchanged": 3, "skipped": 0
    }  # fmt: skip
    assert container.people.recorder.max_notification_id() == head  # not one event
    assert people(client, container, auth) == before


def test_an_edited_file_updates_the_people_it_made_with_history(
    client: Client, container: Container, auth: dict[str, str], user_id: str
) -> None:
    imported(client, container, auth, ROUND)
    ada = by_name(people(client, container, auth))["Ada Lovelace"]
    edited = (
        ROUND.replace(b"NOTE:Wrote the first program", b"NOTE:Wrote the first published program")
        # the same emails in another order are the same emails
        .replace(b"EMAIL;TYPE=home:ada@example.org\n", b"")
        .replace(b"TEL;TYPE=cell", b"EMAIL;TYPE=home:ada@example.org\nTEL;TYPE=cell")
        .replace(b"BDAY:--1210", b"BDAY:18151210")
    )

    again = imported(client, container, auth, edited)

    assert (again["created"], again["updated"], again["unchanged"]) == (0, 1, 2)
    now = client.get(f"{PEOPLE}/{ada['id']}", headers=auth).json()
    assert now["id"] == ada["id"] and now["version"] == ada["version"] + 1
    assert now["metadata"]["note"] == "Wrote the first published program"
    history = client.get(f"{PEOPLE}/{ada['id']}/history", headers=auth).json()["items"]
    assert [entry["type"] for entry in history][-1] == "PersonUpdated"
    assert set(history[-1]["changes"]) == {"metadata"}  # not the names, not the contact
    assert now["metadata"]["emails"] == ada["metadata"]["emails"]  # the same set: as it was
    assert history[-1]["actor"] == user_id  # an ordinary command of the user's
    assert "Ada Lovelace: Birthday 2027-12-10" in upcoming_birthdays(client, container, auth)


def test_a_dry_run_counts_and_changes_nothing(
    client: Client, container: Container, auth: dict[str, str]
) -> None:
    head = container.people.recorder.max_notification_id()

    dry = imported(client, container, auth, ROUND, dry_run="true")

    assert dry["dry_run"] is True
    assert (dry["created"], dry["processed"], dry["status"]) == (3, 3, "done")
    assert container.people.recorder.max_notification_id() == head
    assert people(client, container, auth) == []


def test_the_import_is_listed_newest_first_and_anyone_elses_is_404(
    client: Client, container: Container, auth: dict[str, str], token_for: Any
) -> None:
    first = send(client, auth, ROUND).json()
    second = send(client, auth, ROUND, dry_run="true").json()

    listed = client.get(IMPORTS, headers=auth).json()
    assert [i["id"] for i in listed["items"]] == [second["id"], first["id"]]
    other = {"Authorization": f"Bearer {token_for('someone-else')}"}
    assert client.get(f"{IMPORTS}/{first['id']}", headers=other).status_code == 404
    assert client.get(IMPORTS, headers=other).json()["items"] == []


def test_a_submitted_import_answers_202_with_where_to_follow_it(
    client: Client, auth: dict[str, str]
) -> None:
    accepted = send(client, auth, ROUND)

    assert accepted.status_code == 202
    body = accepted.json()
    assert accepted.headers["Location"] == f"{IMPORTS}/{body['id']}"
    assert body["status"] == "queued" and body["total"] == 3 and body["processed"] == 0
    assert client.get(accepted.headers["Location"], headers=auth).json() == body


def test_the_same_idempotency_key_replays_the_first_import(
    client: Client, auth: dict[str, str]
) -> None:
    keyed = {**auth, "Idempotency-Key": "import-1"}
    first = send(client, keyed, ROUND)
    again = send(client, keyed, ROUND)
    dry = send(client, keyed, ROUND, dry_run="true")

    assert again.status_code == 202 and again.json()["id"] == first.json()["id"]
    assert len(client.get(IMPORTS, headers=auth).json()["items"]) == 1
    assert dry.status_code == 422  # the same key, another request


def test_a_file_over_10_mib_is_413_naming_the_limit(client: Client, auth: dict[str, str]) -> None:
    response = send(client, auth, ROUND + b" " * (10 * 1024 * 1024))

    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert "10 MiB" in response.json()["detail"]


def test_a_file_of_nearly_10_mib_is_taken(client: Client, auth: dict[str, str]) -> None:
    padding = b"NOTE:" + b"x" * 70 + b"\r\n"
    card = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Big\r\n" + padding * 100 + b"END:VCARD\r\n"
    content = card * (10 * 1024 * 1024 // len(card))

    response = send(client, auth, content)

    assert response.status_code == 202, response.text


@pytest.mark.parametrize("media_type", ["application/json", "text/plain", "application/pdf"])
def test_another_type_is_415(client: Client, auth: dict[str, str], media_type: str) -> None:
    response = send(client, auth, ROUND, media_type)

    assert response.status_code == 415
    assert response.headers["content-type"] == PROBLEM
    assert "text/vcard" in response.json()["detail"]


@pytest.mark.parametrize(
    ("content", "media_type"),
    [(b"hello", "text/vcard"), (b"", "text/vcard"), (b"a;b\n1;2\n", "text/csv")],
)
def test_a_file_that_holds_no_contacts_is_400(
    client: Client, auth: dict[str, str], content: bytes, media_type: str
) -> None:
    response = send(client, auth, content, media_type)

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "body"


def test_the_document_describes_the_file_and_its_answers(client: Client) -> None:
    operation = client.get("/schema/openapi.json").json()["paths"][IMPORTS]["post"]

    assert set(operation["requestBody"]["content"]) == {
        "text/vcard",
        "text/x-vcard",
        "text/directory",
        "text/csv",
    }
    assert "10 MiB" in operation["responses"]["413"]["description"]
    assert {"202", "400", "413", "415", "422"} <= set(operation["responses"])
    assert "Location" in operation["responses"]["202"]["headers"]
