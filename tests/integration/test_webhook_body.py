"""A webhook's body: the Standard Webhooks envelope around the Notification, as
``GET /api/v1/notifications/{id}`` shows it once that delivery succeeded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import TestClient
from standardwebhooks import Webhook

from pcem.settings import Settings
from tests.conftest import TokenFactory
from tests.integration.api_helpers import bearer
from tests.integration.process_manager_helpers import (
    DUE,
    SECRET,
    USER,
    World,
    api_of,
    birthday,
    world_of,
)


@pytest.fixture
def world(isolated: Settings) -> Iterator[World]:
    yield from world_of(isolated)


@pytest.fixture
def api(isolated: Settings) -> Iterator[TestClient[Any]]:
    with api_of(isolated) as client:
        yield client


def test_a_webhooks_data_is_the_notification_as_get_shows_it_field_for_field(
    world: World, api: TestClient[Any], token_for: TokenFactory
) -> None:
    # given a reminder whose first attempt failed (503), then is sent an hour later
    reminder = birthday(world)
    world.tick(DUE)
    world.receiver.status = 503
    assert world.delivery.deliver(reminder, DUE) == "retry"
    world.receiver.status = 204
    later = DUE + timedelta(hours=1)
    assert world.tick(later) == [reminder]
    assert world.delivery.deliver(reminder, later) == "sent"

    # when the user reads it
    shown = api.get(f"/api/v1/notifications/{reminder}", headers=bearer(token_for(USER)))

    # then the last body received carries exactly that Notification
    received = world.server.requests[-1]
    Webhook(SECRET.encode()).verify(received.body, received.headers)
    envelope = json.loads(received.body)
    notification = {k: v for k, v in shown.json().items() if k != "attempt_log"}
    assert envelope["data"] == notification
    assert envelope == {"type": "notification.due", "timestamp": "2027-03-10T08:00:00Z",
                        "data": notification}  # fmt: skip
    assert (notification["status"], notification["attempts"]) == ("sent", 2)
    assert (notification["sent_at"], notification["last_error"]) == ("2027-03-10T09:00:00Z", None)
    assert set(notification) == {
        "id", "event_id", "person_id", "channel", "lead_time_days", "occurrence_date", "due_at",
        "status", "attempts", "last_error", "sent_at", "read_at", "title", "body",
    }  # fmt: skip


def test_each_attempt_says_which_it_is(world: World) -> None:
    reminder = birthday(world)
    world.tick(DUE)
    world.receiver.status = 503
    world.delivery.deliver(reminder, DUE)
    world.receiver.status = 204
    world.tick(DUE + timedelta(hours=1))
    world.delivery.deliver(reminder, DUE + timedelta(hours=1))

    first, second = (json.loads(r.body)["data"] for r in world.server.requests)

    assert [first["attempts"], second["attempts"]] == [1, 2]
    assert [first["sent_at"], second["sent_at"]] == ["2027-03-10T08:00:00Z", "2027-03-10T09:00:00Z"]
    assert {r.headers["webhook-id"] for r in world.server.requests} == {str(reminder)}
