"""The caller's notifications over HTTP: the list, one with its attempts, reading it.

Notifications are put into the ledger as the process manager leaves them
(``ledger_helpers``); the routes read them as they are.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from pcem.wiring import Container
from tests.conftest import TokenFactory
from tests.integration.api_helpers import PEOPLE, Client, bearer, create_person
from tests.integration.ledger_helpers import Ledger, now

NOTIFICATIONS = "/api/v1/notifications"
FIELDS = {
    "id", "event_id", "person_id", "channel", "lead_time_days", "occurrence_date", "due_at",
    "status", "attempts", "last_error", "sent_at", "read_at", "title", "body",
}  # fmt: skip


@pytest.fixture
def ledger(container: Container) -> Ledger:
    return Ledger(container.engine)


def listed(client: Client, auth: dict[str, str], **params: Any) -> list[str]:
    response = client.get(NOTIFICATIONS, params=params, headers=auth)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_the_list_is_newest_due_first_and_pages_by_cursor(
    client: Client, auth: dict[str, str], user_id: str, ledger: Ledger
) -> None:
    # given five notifications, two due at the same instant
    start = now()
    due = [start - timedelta(days=d) for d in (3, 1, 2, 0)] + [start - timedelta(days=1)]
    ids = [str(ledger.add(user_id, due_at=at)) for at in due]
    newest_first = [ids[3], *sorted([ids[1], ids[4]], reverse=True), ids[2], ids[0]]

    # when
    first = client.get(NOTIFICATIONS, params={"limit": 2}, headers=auth).json()
    second = client.get(
        NOTIFICATIONS, params={"limit": 2, "cursor": first["next_cursor"]}, headers=auth
    ).json()
    third = client.get(
        NOTIFICATIONS, params={"limit": 2, "cursor": second["next_cursor"]}, headers=auth
    ).json()

    # then
    pages = [first, second, third]
    assert [item["id"] for page in pages for item in page["items"]] == newest_first
    assert third["next_cursor"] is None
    assert set(first["items"][0]) == FIELDS
    assert first["items"][0]["due_at"].endswith("Z")


def test_the_list_filters_by_status_and_channel(
    client: Client, auth: dict[str, str], user_id: str, ledger: Ledger
) -> None:
    sent_email = ledger.add(user_id, channel="email")
    failed_email = ledger.add(user_id, channel="email", status="failed")
    sent_in_app = ledger.add(user_id)

    assert listed(client, auth, status="failed") == [str(failed_email)]
    assert set(listed(client, auth, channel="email")) == {str(sent_email), str(failed_email)}
    assert listed(client, auth, status="sent", channel="in_app") == [str(sent_in_app)]
    assert listed(client, auth, status="cancelled") == []


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("status", "delivered", "must be one of: scheduled, sending, sent, failed, cancelled"),
        ("channel", "pigeon", "must be one of: email, sms, webhook, in_app"),
    ],
)
def test_status_and_channel_are_validated_naming_the_allowed_values(
    client: Client, auth: dict[str, str], name: str, value: str, message: str
) -> None:
    response = client.get(NOTIFICATIONS, params={name: value}, headers=auth)

    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"] == [{"field": name, "message": message}]


def test_a_cursor_that_was_tampered_with_is_refused(client: Client, auth: dict[str, str]) -> None:
    response = client.get(NOTIFICATIONS, params={"cursor": "bm90LWEtY3Vyc29y"}, headers=auth)

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "cursor"


def test_only_the_callers_notifications_are_listed(
    client: Client, auth: dict[str, str], user_id: str, ledger: Ledger
) -> None:
    mine = ledger.add(user_id)
    ledger.add(f"other-{uuid.uuid4()}")

    assert listed(client, auth) == [str(mine)]


def test_one_notification_comes_with_its_attempt_log(
    client: Client, auth: dict[str, str], user_id: str, ledger: Ledger
) -> None:
    # given a webhook that failed once, then went through
    due = now() - timedelta(minutes=3)
    notification = ledger.add(user_id, channel="webhook", due_at=due, attempts=2)
    ledger.attempt(notification, 1, due, "retry", "HTTP 503")
    ledger.attempt(notification, 2, due + timedelta(minutes=1), "sent", None)

    # when
    response = client.get(f"{NOTIFICATIONS}/{notification}", headers=auth)

    # then
    assert response.status_code == 200
    body = response.json()
    assert set(body) == FIELDS | {"attempt_log"}
    assert (body["id"], body["status"], body["attempts"]) == (str(notification), "sent", 2)
    assert body["attempt_log"] == [
        {
            "at": due.isoformat().replace("+00:00", "Z"),
            "outcome": "retry",
            "error": "HTTP 503",
            "message_id": str(notification),  # the message that carried it: its own
        },
        {
            "at": (due + timedelta(minutes=1)).isoformat().replace("+00:00", "Z"),
            "outcome": "sent",
            "error": None,
            "message_id": str(notification),
        },
    ]


def test_reading_sets_read_at_once(
    client: Client, auth: dict[str, str], user_id: str, ledger: Ledger
) -> None:
    notification = ledger.add(user_id)

    first = client.post(f"{NOTIFICATIONS}/{notification}/read", headers=auth)
    again = client.post(f"{NOTIFICATIONS}/{notification}/read", headers=auth)

    assert first.status_code == again.status_code == 200
    assert first.json()["read_at"] is not None
    assert again.json() == first.json()  # reading again keeps the first read_at
    assert (
        client.get(f"{NOTIFICATIONS}/{notification}", headers=auth).json()["read_at"]
        == (first.json()["read_at"])
    )


@pytest.mark.parametrize("route", ["get", "read"])
def test_another_users_notification_is_404_like_a_missing_one(
    client: Client, token_for: TokenFactory, ledger: Ledger, route: str
) -> None:
    owner = f"owner-{uuid.uuid4()}"
    theirs = ledger.add(owner)
    intruder = bearer(token_for(f"intruder-{uuid.uuid4()}"))

    def call(notification_id: object) -> Any:
        if route == "get":
            return client.get(f"{NOTIFICATIONS}/{notification_id}", headers=intruder)
        return client.post(f"{NOTIFICATIONS}/{notification_id}/read", headers=intruder)

    other, missing = call(theirs), call(uuid.uuid4())

    assert other.status_code == missing.status_code == 404
    assert other.headers["content-type"].startswith("application/problem+json")
    assert {k: v for k, v in other.json().items() if k != "request_id"} == {
        k: v for k, v in missing.json().items() if k != "request_id"
    } | {"detail": f"Notification {theirs} not found"}
    owners = bearer(token_for(owner))
    assert client.get(f"{NOTIFICATIONS}/{theirs}", headers=owners).json()["read_at"] is None


def test_a_deleted_persons_notifications_vanish_until_they_are_restored(
    client: Client, auth: dict[str, str], user_id: str, ledger: Ledger
) -> None:
    # given a sent and a pending notification about Ada
    ada = create_person(client, auth)
    sent = ledger.add(user_id, person_id=uuid.UUID(ada["id"]))
    pending = ledger.add(user_id, person_id=uuid.UUID(ada["id"]), status="scheduled")

    # when Ada is deleted
    assert client.delete(f"{PEOPLE}/{ada['id']}", headers=auth).status_code == 204

    # then
    assert listed(client, auth) == []
    assert client.get(f"{NOTIFICATIONS}/{pending}", headers=auth).status_code == 404
    assert client.post(f"{NOTIFICATIONS}/{sent}/read", headers=auth).status_code == 404

    # and when she is restored, they are back
    assert client.post(f"{PEOPLE}/{ada['id']}/restore", headers=auth).status_code == 200
    assert set(listed(client, auth)) == {str(sent), str(pending)}
