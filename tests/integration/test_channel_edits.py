"""A user corrects a channel's address: its reminders stay, and go to the new one.

The process manager's plain functions on the real database with a real webhook
receiver (``process_manager_helpers``): the receiver answers 404 anywhere but at
``HOOK``, as one given a wrong URL would.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from pcem.notifications.wanted import CHANNEL_REMOVED
from pcem.settings import Settings
from tests.integration.process_manager_helpers import (
    DUE,
    HOOK,
    NOON,
    PREFERENCES,
    USER,
    World,
    birthday,
    world_of,
)
from tests.integration.schedule_helpers import IN_APP

WRONG = "/hoook"


@pytest.fixture
def world(isolated: Settings) -> Iterator[World]:
    yield from world_of(isolated)


def test_a_corrected_webhook_url_receives_on_retry_the_reminder_that_failed(world: World) -> None:
    # given a reminder that failed at a wrong URL
    world.webhook_at(WRONG, NOON - timedelta(minutes=30))
    reminder = birthday(world)
    assert world.tick(DUE) == [reminder]
    assert world.delivery.deliver(reminder, DUE) == "failed"  # 404: no use trying again
    assert "404" in (world.status(reminder).last_error or "")

    # when the user corrects the URL, and an operator retries the failed set
    world.webhook_at(HOOK, DUE + timedelta(hours=1))
    retried = world.ledger.retry_failed(DUE + timedelta(hours=2))
    handed_out = world.tick(DUE + timedelta(hours=2))

    # then the corrected URL receives the reminder, once
    assert (retried.sent_again, retried.cancelled) == ([reminder], {})
    assert handed_out == [reminder]
    assert world.delivery.deliver(reminder, DUE + timedelta(hours=2)) == "sent"
    assert world.delivery.deliver(reminder, DUE + timedelta(hours=2)) == "skipped"
    assert [(r.path, r.headers["webhook-id"]) for r in world.server.requests] == [
        (WRONG, str(reminder)),
        (HOOK, str(reminder)),
    ]
    assert [a.outcome for a in world.status(reminder).attempt_log] == ["failed", "sent"]


def test_an_address_edited_while_a_notification_waits_for_a_worker_is_sent_to_the_new_one(
    world: World,
) -> None:
    world.webhook_at(WRONG, NOON - timedelta(minutes=30))
    reminder = birthday(world)
    assert world.tick(DUE) == [reminder]

    world.webhook_at(HOOK, DUE)  # before a worker takes it

    assert world.delivery.deliver(reminder, DUE + timedelta(seconds=5)) == "sent"
    assert [r.path for r in world.server.requests] == [HOOK]


def test_a_retry_of_a_removed_channel_cancels_at_once_and_says_why(world: World) -> None:
    # given a reminder that failed, then the user removed its channel
    world.webhook_at(WRONG, NOON - timedelta(minutes=30))
    reminder = birthday(world)
    world.tick(DUE)
    assert world.delivery.deliver(reminder, DUE) == "failed"
    world.cal.prefer(USER, DUE + timedelta(hours=1), **PREFERENCES, channels=(IN_APP,))
    world.cal.catch_up()

    # when
    retried = world.ledger.retry_failed(DUE + timedelta(hours=2))

    # then it is not handed out: cancelled, with the reason, and that is what the retry says
    assert (retried.sent_again, retried.cancelled) == ([], {reminder: CHANNEL_REMOVED})
    assert world.tick(DUE + timedelta(hours=2)) == []
    cancelled = world.status(reminder)
    assert (cancelled.status, cancelled.last_error) == ("cancelled", CHANNEL_REMOVED)
    assert [r.path for r in world.server.requests] == [WRONG]
    assert world.ledger.retry_failed(DUE + timedelta(hours=3)).moved == 0
