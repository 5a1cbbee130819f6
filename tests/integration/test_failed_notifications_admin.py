"""Operators and the failed set: every user's failed notifications, and a retry.

On a database of its own: the failed set is not scoped to a user, so other
tests' rows would be listed too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import TestClient

from pcem.api.app import create_app
from pcem.notifications.wanted import NO_LONGER_SCHEDULED
from pcem.settings import Settings
from pcem.wiring import Container, build_container
from tests.conftest import TokenFactory
from tests.integration.api_helpers import Client, bearer
from tests.integration.ledger_helpers import Ledger, now
from tests.integration.test_cli import env_of, pcem

FAILED = "/api/v1/admin/notifications/failed"


def retry(notification_id: object) -> str:
    return f"/api/v1/admin/notifications/{notification_id}/retry"


@pytest.fixture
def ops(isolated: Settings) -> Iterator[tuple[Client, Container]]:
    container = build_container(isolated, pool_size=2)
    with TestClient(create_app(container)) as client:
        yield client, container


@pytest.fixture
def operator(token_for: TokenFactory) -> dict[str, str]:
    return bearer(token_for(f"operator-{uuid.uuid4()}", "operator"))


def outbox(container: Container) -> list[Any]:
    with container.engine.connect() as conn:
        return list(conn.exec_driver_sql("SELECT task, subject_id FROM outbox").all())


def test_failed_notifications_of_every_user_are_listed_newest_due_first_and_paged(
    ops: tuple[Client, Container], operator: dict[str, str]
) -> None:
    # given
    client, container = ops
    ledger = Ledger(container.engine)
    start = now()
    failed = [
        ledger.add(f"user-{n}", status="failed", due_at=start - timedelta(hours=n))
        for n in range(3)
    ]
    ledger.add("user-0", status="sent")

    # when
    first = client.get(FAILED, params={"limit": 2}, headers=operator).json()
    second = client.get(
        FAILED, params={"limit": 2, "cursor": first["next_cursor"]}, headers=operator
    ).json()

    # then
    items = first["items"] + second["items"]
    assert [item["id"] for item in items] == [str(n) for n in failed]
    assert [item["user_id"] for item in items] == ["user-0", "user-1", "user-2"]
    assert {item["status"] for item in items} == {"failed"}
    assert items[0]["last_error"] == "HTTP 503"
    assert second["next_cursor"] is None


def test_a_retry_hands_the_notification_out_again_and_a_repeated_retry_changes_nothing(
    ops: tuple[Client, Container], operator: dict[str, str]
) -> None:
    # given
    client, container = ops
    ledger = Ledger(container.engine)
    failed = ledger.add("user-1", status="failed", attempts=4)
    ledger.still_scheduled(failed)

    # when
    first = client.post(retry(failed), headers=operator)
    again = client.post(retry(failed), headers=operator)

    # then
    assert first.status_code == again.status_code == 202
    assert first.json()["status"] == again.json()["status"] == "scheduled"
    assert first.json()["user_id"] == "user-1"
    assert [tuple(row) for row in outbox(container)] == [("pcem.deliver", failed)]
    assert ledger.status(failed).retry_base == 4  # its retries start anew
    assert client.get(FAILED, headers=operator).json()["items"] == []


def test_retrying_one_that_never_failed_is_a_conflict(
    ops: tuple[Client, Container], operator: dict[str, str]
) -> None:
    client, container = ops
    sent = Ledger(container.engine).add("user-1", status="sent")

    response = client.post(retry(sent), headers=operator)

    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["detail"] == (
        f"notification {sent} is not in the failed set: it is sent"
    )
    assert outbox(container) == []


def test_retrying_an_unknown_notification_is_404(
    ops: tuple[Client, Container], operator: dict[str, str]
) -> None:
    client, _ = ops

    response = client.post(retry(uuid.uuid4()), headers=operator)

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


def test_a_retry_of_one_no_longer_wanted_cancels_it_and_answers_why(
    ops: tuple[Client, Container], operator: dict[str, str]
) -> None:
    client, container = ops
    failed = Ledger(container.engine).add("user-1", status="failed")  # its event was deleted

    first = client.post(retry(failed), headers=operator)
    again = client.post(retry(failed), headers=operator)

    assert first.status_code == again.status_code == 202
    assert first.json()["status"] == again.json()["status"] == "cancelled"
    assert first.json()["last_error"] == NO_LONGER_SCHEDULED
    assert outbox(container) == []  # nothing handed out: nothing will be sent


def test_the_retry_command_says_which_are_sent_again_and_which_cancelled_and_why(
    ops: tuple[Client, Container], isolated: Settings
) -> None:
    _, container = ops
    ledger = Ledger(container.engine)
    wanted = ledger.add("user-1", status="failed")
    ledger.still_scheduled(wanted)
    gone = ledger.add("user-2", status="failed")

    done = pcem("notifications", "retry", "--all", env=env_of(isolated))

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "pcem: 1 notification(s) will be sent again",
        f"pcem: {gone} is cancelled, not sent again: {NO_LONGER_SCHEDULED}",
    ]
    assert [tuple(row) for row in outbox(container)] == [("pcem.deliver", wanted)]
