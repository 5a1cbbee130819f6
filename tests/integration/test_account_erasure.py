"""Erasing an account (DELETE /api/v1/me?confirm=…) through the API, the work done as
the worker does it: the same token then sees an empty account that works as a new one."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import text

from pcem.wiring import Container
from tests.conftest import TokenFactory
from tests.integration.api_helpers import PEOPLE, Client, bearer, create_person, relate
from tests.integration.erasure_helpers import (
    email_settings,
    live_keys,
    person_path,
    person_with_reminders,
    rows_of,
)
from tests.integration.feed_helpers import EVENTS, SETTINGS, make_feed
from tests.integration.import_helpers import CONTACTS, caught_up, counts, imported, people
from tests.integration.ledger_helpers import Ledger

ME = "/api/v1/me"
APPLE = (CONTACTS / "apple.vcf").read_bytes()


def erase(client: Client, container: Container, auth: dict[str, str], user_id: str) -> None:
    """Ask for the erasure, then run its work as the worker's task does."""
    asked = client.delete(ME, params={"confirm": user_id}, headers=auth)
    assert asked.status_code == 202, asked.text
    with container.engine.connect() as conn:
        erasure_id = conn.execute(
            text("SELECT id FROM account_erasures WHERE user_id = :u AND state = 'erasing'"),
            {"u": user_id},
        ).scalar_one()
    assert container.account_erasure.run(erasure_id) == "done"


def test_without_the_right_confirm_nothing_is_erased_and_the_problem_says_what_to_send(
    client: Client, auth: dict[str, str], user_id: str
) -> None:
    ada = create_person(client, auth, first_name="Ada")

    for params in ({}, {"confirm": "someone-else"}):
        refused = client.delete(ME, params=params, headers=auth)
        assert refused.status_code == 400
        assert refused.headers["content-type"].startswith("application/problem+json")
        [error] = refused.json()["errors"]
        assert error["field"] == "confirm"
        assert f"confirm={user_id}" in error["message"]
    assert client.get(person_path(ada["id"]), headers=auth).status_code == 200


def test_an_erased_account_is_empty_and_works_as_a_new_one(
    client: Client, container: Container, auth: dict[str, str], user_id: str
) -> None:
    email_settings(client, auth, "owner@example.org")
    ada = person_with_reminders(client, auth, first_name="Ada", last_name="Lovelace")
    bea = create_person(client, auth, first_name="Bea")
    assert relate(client, auth, ada["id"], bea["id"], "sister").status_code == 201
    keyed = {**auth, "Idempotency-Key": "make-cy"}
    assert client.post(PEOPLE, json={"first_name": "Cy"}, headers=keyed).status_code == 201
    first_import = imported(client, container, auth, APPLE)
    feed = make_feed(client, auth)
    assert client.get(feed).status_code == 200
    sent = Ledger(container.engine).add(user_id, person_id=UUID(ada["id"]), channel="email")

    erase(client, container, auth, user_id)

    fresh = caught_up(container, auth)
    assert client.get(PEOPLE, headers=fresh).json()["items"] == []
    for gone in (person_path(ada["id"]), f"{person_path(ada['id'])}/history"):
        assert client.get(gone, headers=fresh).status_code == 404, gone
    assert client.get(f"{EVENTS}/{ada['event_id']}/history", headers=fresh).status_code == 404
    assert client.get(EVENTS, headers=fresh).json()["items"] == []
    assert client.get("/api/v1/notifications", headers=fresh).json()["items"] == []
    assert client.get("/api/v1/imports", headers=fresh).json()["items"] == []
    assert client.get(feed).status_code == 404
    assert client.get(f"{ME}/calendar-feed", headers=fresh).status_code == 404
    assert live_keys(container.engine, user_id) == set()
    left = rows_of(container.engine, user_id)
    assert {t: r for t, r in left.items() if r and t not in ("notifications", "subject_keys")} == {}
    with container.engine.connect() as conn:
        kept = conn.execute(
            text("SELECT title, body, erased_at IS NOT NULL FROM notifications WHERE id = :id"),
            {"id": sent},
        ).one()
    assert tuple(kept) == ("", "", True)  # kept as a key, nothing in it
    assert "owner@example.org" not in str(left) and "Lovelace" not in str(left)

    settings = client.get(SETTINGS, headers=fresh)
    assert settings.status_code == 200
    assert settings.json()["notifications"]["channels"] == [{"type": "in_app"}]
    email_settings(client, auth, "new@example.org")
    assert create_person(client, auth, first_name="Dee")["first_name"] == "Dee"
    again = imported(client, container, auth, APPLE)
    assert counts(again)["created"] == counts(first_import)["created"] > 0
    names = {p["first_name"] for p in people(client, container, auth)}
    assert "Dee" in names and len(names) > 1


def test_asking_again_while_it_runs_answers_the_same_erasure(
    client: Client, container: Container, auth: dict[str, str], user_id: str
) -> None:
    create_person(client, auth, first_name="Ada")
    for _ in range(2):
        assert client.delete(ME, params={"confirm": user_id}, headers=auth).status_code == 202
    with container.engine.connect() as conn:
        found = conn.execute(
            text("SELECT requested_by, channel, state FROM account_erasures WHERE user_id = :u"),
            {"u": user_id},
        ).all()
    assert [tuple(row) for row in found] == [(user_id, "api", "erasing")]
    # Until its work is done, new settings wait: the erased ones are gone already.
    email_settings_response = client.put(
        SETTINGS,
        json={
            "timezone": "UTC",
            "notifications": {
                "enabled": True,
                "lead_time_days": [1],
                "delivery_time": "09:00",
                "channels": [{"type": "in_app"}],
            },
        },
        headers=auth,
    )
    assert email_settings_response.status_code == 409


def test_an_erasure_leaves_every_row_of_another_user_as_it_was(
    client: Client, container: Container, auth: dict[str, str], user_id: str,
    token_for: TokenFactory,
) -> None:  # fmt: skip
    other_user = f"{user_id}-neighbour"
    other = bearer(token_for(other_user))
    email_settings(client, other, "bea@example.org")
    person_with_reminders(client, other, first_name="Ada", last_name="Lovelace")
    imported(client, container, other, APPLE)
    make_feed(client, other)
    assert client.get(EVENTS, headers=other).status_code == 200
    before = rows_of(container.engine, other_user)
    person_with_reminders(client, auth, first_name="Ada", last_name="Lovelace")
    imported(client, container, auth, APPLE)

    erase(client, container, auth, user_id)

    assert client.get(EVENTS, headers=caught_up(container, auth)).status_code == 200
    assert rows_of(container.engine, other_user) == before


def test_ids_of_the_next_account_are_not_the_erased_ones(
    client: Client, container: Container, auth: dict[str, str], user_id: str
) -> None:
    from pcem.aggregates.settings import settings_id

    email_settings(client, auth, "owner@example.org")
    erase(client, container, auth, user_id)
    email_settings(client, auth, "new@example.org")

    assert container.account_erasures.generation(user_id) == 1
    assert container.settings_app.settings(user_id).id == settings_id(user_id, 1)
    assert container.settings_app.is_erased(settings_id(user_id, 0))
    assert not container.settings_app.is_erased(UUID(str(settings_id(user_id, 1))))
