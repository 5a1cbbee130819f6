"""Purging a person (POST /api/v1/people/{id}/purge) through the API: everything
derived from them goes, every read of them is a 404, and nothing else changes."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import text

from pcem.wiring import Container
from tests.conftest import TokenFactory
from tests.integration.api_helpers import PEOPLE, Client, bearer, create_person, relate
from tests.integration.erasure_helpers import (
    add_import_naming,
    email_settings,
    live_keys,
    person_path,
    person_with_reminders,
    rows_of,
)
from tests.integration.feed_helpers import EVENTS, make_feed
from tests.integration.ledger_helpers import Ledger, now
from tests.polling import wait_until

NOTIFICATIONS = "/api/v1/notifications"


def purge(client: Client, auth: dict[str, str], person_id: str) -> Any:
    return client.post(f"{person_path(person_id)}/purge", headers=auth)


def schedule_of(container: Container, person_id: str) -> list[Any]:
    with container.engine.connect() as conn:
        statement = text("SELECT id FROM notification_schedule WHERE person_id = :p")
        return list(conn.execute(statement, {"p": person_id}))


def ledger_of(container: Container, person_id: str) -> list[Any]:
    with container.engine.connect() as conn:
        statement = text(
            "SELECT n.status, n.title, n.body, n.last_error, n.erased_at, a.error"
            " FROM notifications n LEFT JOIN notification_attempts a ON a.notification_id = n.id"
            " WHERE n.person_id = :p"
        )
        return list(conn.execute(statement, {"p": person_id}))


def test_a_purged_person_with_reminders_pending_leaves_no_reminder_and_a_blank_ledger(
    client: Client, container: Container, auth: dict[str, str], user_id: str
) -> None:
    email_settings(client, auth, "ada.owner@example.org")
    ada = person_with_reminders(client, auth, first_name="Ada", last_name="Lovelace")
    assert client.get(EVENTS, headers=auth).status_code == 200  # projected
    assert schedule_of(container, ada["id"]), "reminders are scheduled for her"
    ledger = Ledger(container.engine)
    pending = ledger.add(
        user_id, status="scheduled", person_id=UUID(ada["id"]), title="Ada Lovelace's birthday"
    )
    sent = ledger.add(user_id, status="sent", person_id=UUID(ada["id"]), channel="email")
    ledger.attempt(sent, 1, now(), "retry", "550 ada@example.org")

    assert purge(client, auth, ada["id"]).status_code == 204

    assert client.get(EVENTS, headers=auth).status_code == 200  # the purge projected
    assert schedule_of(container, ada["id"]) == []
    wait_until(
        lambda: all(row.erased_at for row in ledger_of(container, ada["id"])),
        10,
        "the follower to act on the tombstone",
    )
    rows = ledger_of(container, ada["id"])
    assert {(r.title, r.body, r.last_error, r.error) for r in rows} == {("", "", None, None)}
    assert ledger.status(pending).status == "cancelled"
    assert ledger.status(sent).status == "sent"  # what happened stays, without its words
    listed = client.get(NOTIFICATIONS, headers=auth).json()["items"]
    assert [n for n in listed if n["person_id"] == ada["id"]] == []
    assert client.get(f"{NOTIFICATIONS}/{pending}", headers=auth).status_code == 404


def test_a_purged_person_is_a_404_everywhere_their_history_included(
    client: Client, container: Container, auth: dict[str, str]
) -> None:
    ada = person_with_reminders(client, auth, first_name="Ada", metadata={"pet": "Byron"})
    path = person_path(ada["id"])
    assert client.patch(path, json={"last_name": "King"}, headers=auth).status_code == 200

    assert purge(client, auth, ada["id"]).status_code == 204

    for read in (
        path,
        f"{path}/history",
        f"{path}/history/1",
        f"{path}?as_of=2100-01-01T00:00:00Z",
        f"{path}/relationships",
        f"{EVENTS}/{ada['event_id']}",
        f"{EVENTS}/{ada['event_id']}/history",
    ):
        assert client.get(read, headers=auth).status_code == 404, read
    assert client.get(EVENTS, params={"person_id": ada["id"]}, headers=auth).json()["items"] == []
    assert client.get(PEOPLE, params={"q": "Byron"}, headers=auth).json()["items"] == []
    export = client.get("/api/v1/me/export", headers=auth).text
    assert "Byron" not in export and "King" not in export and "lilies" not in export
    # Purged already: nothing answers for them, a second purge neither.
    assert purge(client, auth, ada["id"]).status_code == 404
    assert client.patch(path, json={"first_name": "X"}, headers=auth).status_code == 404


def test_relationships_to_and_from_a_purged_person_are_gone_both_ways(
    client: Client, auth: dict[str, str]
) -> None:
    ada, bea, cy = (create_person(client, auth, first_name=n) for n in ("Ada", "Bea", "Cy"))
    assert relate(client, auth, bea["id"], ada["id"], "sister").status_code == 201
    assert relate(client, auth, ada["id"], cy["id"], "friend").status_code == 201
    assert relate(client, auth, bea["id"], cy["id"], "colleague").status_code == 201

    assert purge(client, auth, ada["id"]).status_code == 204

    def both(person: dict[str, Any]) -> list[Any]:
        response = client.get(
            f"{person_path(person['id'])}/relationships", params={"direction": "both"}, headers=auth
        )
        return [(r["source_id"], r["target_id"]) for r in response.json()["items"]]

    assert both(bea) == [(bea["id"], cy["id"])]
    assert both(cy) == [(bea["id"], cy["id"])]
    retry = relate(client, auth, bea["id"], ada["id"], "sister")
    assert retry.status_code == 404


def test_a_deleted_person_can_be_purged_and_another_users_cannot_be(
    client: Client, auth: dict[str, str], token_for: TokenFactory
) -> None:
    ada = create_person(client, auth, first_name="Ada")
    assert client.delete(person_path(ada["id"]), headers=auth).status_code == 204
    stranger = bearer(token_for("stranger-of-ada"))

    assert purge(client, stranger, ada["id"]).status_code == 404
    assert client.get(f"{person_path(ada['id'])}/history", headers=auth).status_code == 200
    assert purge(client, auth, ada["id"]).status_code == 204
    assert client.get(f"{person_path(ada['id'])}/history", headers=auth).status_code == 404
    assert purge(client, auth, "00000000-0000-4000-8000-000000000000").status_code == 404


def test_an_idempotency_record_of_a_purged_persons_creation_no_longer_replays_them(
    client: Client, container: Container, auth: dict[str, str], user_id: str
) -> None:
    body = {"first_name": "Ada", "last_name": "Lovelace"}
    keyed = {**auth, "Idempotency-Key": "create-ada"}
    first = client.post(PEOPLE, json=body, headers=keyed)
    assert first.status_code == 201

    assert purge(client, auth, first.json()["id"]).status_code == 204

    with container.engine.connect() as conn:
        records = conn.execute(
            text("SELECT key FROM idempotency_keys WHERE user_id = :u"), {"u": user_id}
        ).all()
    assert records == []
    again = client.post(PEOPLE, json=body, headers=keyed)  # the client's own data, sent anew
    assert again.status_code == 201
    assert again.json()["id"] != first.json()["id"]
    assert client.get(person_path(first.json()["id"]), headers=auth).status_code == 404


def test_a_purge_destroys_the_keys_of_the_person_and_their_dates_and_no_other(
    client: Client, container: Container, auth: dict[str, str], user_id: str
) -> None:
    ada = person_with_reminders(client, auth, first_name="Ada")
    bea = create_person(client, auth, first_name="Bea")
    before = live_keys(container.engine, user_id)
    assert {UUID(ada["id"]), UUID(ada["event_id"]), UUID(bea["id"])} <= before

    assert purge(client, auth, ada["id"]).status_code == 204

    assert live_keys(container.engine, user_id) == before - {UUID(ada["id"]), UUID(ada["event_id"])}


def test_import_problems_naming_a_purged_person_are_blanked(
    client: Client, container: Container, auth: dict[str, str], user_id: str
) -> None:
    ada = create_person(client, auth, first_name="Ada", last_name="Lovelace")
    named = add_import_naming(container.engine, user_id, "card 3 (Ada Lovelace)", "bad BDAY")
    other = add_import_naming(container.engine, user_id, "card 4 (Bea Smith)", "bad BDAY")

    assert purge(client, auth, ada["id"]).status_code == 204

    imports = {
        i["id"]: i["problems"] for i in client.get("/api/v1/imports", headers=auth).json()["items"]
    }
    assert imports[str(named)] == [{"record": "card 3", "message": "erased"}]
    assert imports[str(other)] == [{"record": "card 4 (Bea Smith)", "message": "bad BDAY"}]


def test_a_purge_leaves_every_row_of_another_user_as_it_was(
    client: Client, container: Container, auth: dict[str, str], token_for: TokenFactory
) -> None:
    other_user = f"other-{UUID(int=7)}-{id(client)}"
    other = bearer(token_for(other_user))
    email_settings(client, other, "bea@example.org")
    bea = person_with_reminders(client, other, first_name="Ada", last_name="Lovelace")
    make_feed(client, other)
    assert client.get(EVENTS, headers=other).status_code == 200
    before = rows_of(container.engine, other_user)
    ada = person_with_reminders(client, auth, first_name="Ada", last_name="Lovelace")

    assert purge(client, auth, ada["id"]).status_code == 204

    assert client.get(EVENTS, headers=auth).status_code == 200
    assert rows_of(container.engine, other_user) == before
    assert client.get(person_path(bea["id"]), headers=other).status_code == 200


def test_a_purge_whose_command_died_after_its_tombstones_is_completed_from_them(
    client: Client, container: Container, auth: dict[str, str], user_id: str
) -> None:
    ada = person_with_reminders(client, auth, first_name="Ada", last_name="Lovelace")
    named = add_import_naming(container.engine, user_id, "card 1 (Ada Lovelace)", "bad TEL")
    sent = Ledger(container.engine).add(user_id, person_id=UUID(ada["id"]))

    # The tombstones alone, as a command that died right after writing them left them.
    container.people.purge_person(user_id, UUID(ada["id"]), actor=user_id)

    def converged() -> bool:
        with container.engine.connect() as conn:
            problems = conn.execute(
                text("SELECT problems FROM imports WHERE id = :id"), {"id": named}
            ).scalar_one()
            erased = conn.execute(
                text("SELECT erased_at IS NOT NULL FROM notifications WHERE id = :id"),
                {"id": sent},
            ).scalar_one()
        return not live_keys(container.engine, user_id) and erased and "Ada" not in str(problems)

    wait_until(converged, 10, "the follower to complete the purge")
    assert client.get(person_path(ada["id"]), headers=auth).status_code == 404


def test_support_sees_a_purged_persons_history_as_types_times_and_actors_only(
    client: Client, auth: dict[str, str], user_id: str, token_for: TokenFactory
) -> None:
    ada = create_person(client, auth, first_name="Ada", metadata={"pet": "Byron"})
    assert purge(client, auth, ada["id"]).status_code == 204
    support = bearer(token_for("support-staff", "support"))

    found = client.get(f"/api/v1/support/aggregates/{ada['id']}/history", headers=support)

    assert found.status_code == 200
    assert found.json()["owner"] == user_id
    items = found.json()["items"]
    assert [i["type"] for i in items] == ["PersonCreated", "PersonPurged"]
    assert all(i["changes"] == {} and i["actor"] == user_id for i in items)
    assert "Byron" not in found.text and "Ada" not in found.text
