"""The process manager's plain functions on the real database: the ledger's tick,
the outbox relay and a delivery, with a real webhook receiver. The clock is an
argument, so each test says at what moment things happen.

A birthday on Wednesday 10 March (1990, yearly), the user in Berlin, one
reminder on the day at 09:00 local (08:00 UTC) over a webhook.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any
from unittest.mock import patch
from uuid import UUID

import pytest

from pcem.database.connections import application_name
from pcem.notifications.inbox import FailedSet, Overdue
from pcem.notifications.ledger import OCCURRENCE_PASSED, Ledger
from pcem.notifications.wanted import CHANNEL_REMOVED, NO_LONGER_SCHEDULED
from pcem.processors.delivery import Delivery, RetryPolicy
from pcem.projections.people_and_dates import PeopleAndDatesProjection
from pcem.projector.rebuild import Rebuild
from pcem.settings import Settings
from tests.integration.process_manager_helpers import (
    DUE,
    NOON,
    USER,
    World,
    birthday,
    inbox_get,
    world_of,
)
from tests.integration.schedule_helpers import utc


@pytest.fixture
def world(isolated: Settings) -> Iterator[World]:
    yield from world_of(isolated)


def test_a_due_reminder_is_delivered_once_however_often_it_is_handed_out(world: World) -> None:
    reminder = birthday(world)

    assert world.tick(DUE - timedelta(minutes=1)) == []  # not due yet
    assert world.tick(DUE) == [reminder]
    assert world.delivery.deliver(reminder, DUE) == "sent"
    assert world.delivery.deliver(reminder, DUE) == "skipped"  # a redelivered task
    assert world.tick(DUE + timedelta(minutes=5)) == []  # and the next tick hands out nothing

    assert len(world.server.requests) == 1
    sent = world.status(reminder)
    assert (sent.status, sent.attempts, sent.sent_at) == ("sent", 1, DUE)
    assert sent.title == "Anna Lovelace's birthday is today"
    assert [a.outcome for a in sent.attempt_log] == ["sent"]
    assert world.server.requests[0].headers["webhook-id"] == str(reminder)


def test_a_failing_channel_is_retried_with_backoff_then_failed_then_sent_on_retry(
    world: World,
) -> None:
    reminder = birthday(world)
    world.receiver.status = 503
    moment = DUE
    assert world.tick(moment) == [reminder]

    outcomes = []
    for _ in range(4):  # the first attempt and three retries
        outcomes.append(world.delivery.deliver(reminder, moment))
        if outcomes[-1] == "retry":
            assert world.tick(moment + timedelta(seconds=59)) == []  # backoff: not yet
            moment = moment + timedelta(hours=1)
            assert world.tick(moment) == [reminder]
    assert outcomes == ["retry", "retry", "retry", "failed"]

    failed = world.status(reminder)
    assert (failed.status, failed.attempts) == ("failed", 4)
    assert failed.last_error and "503" in failed.last_error
    assert [n.id for n in FailedSet(world.container.engine).page()] == [reminder]

    world.receiver.status = 204
    assert world.ledger.retry_failed(moment, reminder).sent_again == [reminder]
    assert world.ledger.retry_failed(moment, reminder).moved == 0  # retrying is idempotent
    world.relay.relay()
    assert world.delivery.deliver(reminder, moment) == "sent"
    assert [a.outcome for a in world.status(reminder).attempt_log] == [
        "retry", "retry", "retry", "failed", "sent",
    ]  # fmt: skip


def test_a_person_deleted_before_the_due_time_gets_nothing_sent(world: World) -> None:
    reminder = birthday(world)
    person = world.cal.rows(USER)[0].person_id
    world.cal.delete_person(USER, person, DUE - timedelta(days=1))
    world.cal.catch_up()

    assert world.tick(DUE) == []
    assert world.server.requests == []
    assert inbox_get(world.container, reminder) is None


def test_a_notification_no_longer_wanted_when_its_worker_takes_it_is_cancelled(
    world: World,
) -> None:
    reminder = birthday(world)
    assert world.tick(DUE) == [reminder]
    world.cal.prefer(USER, DUE, timezone="Europe/Berlin", lead_time_days=(0,), channels=())
    world.cal.catch_up()

    assert world.delivery.deliver(reminder, DUE) == "cancelled"
    assert world.server.requests == []
    cancelled = world.status(reminder)
    assert cancelled.status == "cancelled"
    assert cancelled.last_error in (CHANNEL_REMOVED, NO_LONGER_SCHEDULED)


def test_what_a_killed_worker_held_is_handed_out_again_after_its_lease(world: World) -> None:
    reminder = birthday(world)
    world.tick(DUE)
    with world.delivery.claims.session() as ledger:  # the worker dies holding it
        assert ledger.claim(reminder, DUE)

    assert world.tick(DUE + timedelta(seconds=30)) == []  # its lease still runs
    assert world.tick(DUE + timedelta(seconds=61)) == [reminder]
    assert world.delivery.deliver(reminder, DUE + timedelta(seconds=62)) == "sent"
    assert world.status(reminder).attempts == 2  # the one in flight, then this one


def test_a_worker_whose_lease_lapsed_cannot_settle_the_next_workers_claim(
    world: World,
) -> None:
    reminder = birthday(world)
    world.tick(DUE)
    with world.delivery.claims.session() as slow:
        first = slow.claim(reminder, DUE)  # a worker stalls past its lease
        assert first
        world.tick(DUE + timedelta(seconds=61))  # handed on
        with world.delivery.claims.session() as next_worker:
            assert next_worker.claim(reminder, DUE + timedelta(seconds=62))
            slow.settle(first, DUE + timedelta(seconds=63), outcome="failed", error="late")

    detail = world.status(reminder)
    assert (detail.status, detail.attempts) == ("sending", 2)  # still the second's to settle


def test_a_hand_out_the_broker_lost_is_handed_out_again(world: World) -> None:
    reminder = birthday(world)
    assert world.tick(DUE) == [reminder]  # published; the broker then loses it

    assert world.tick(DUE + timedelta(seconds=30)) == []  # its lease still runs
    assert world.tick(DUE + timedelta(seconds=61)) == []  # missing: suspected
    assert world.tick(DUE + timedelta(seconds=62)) == [reminder]  # still missing: lost


def test_a_hand_out_still_queued_past_its_lease_is_not_handed_out_again(world: World) -> None:
    reminder = birthday(world)
    assert world.tick(DUE) == [reminder]  # published, behind a backlog longer than the lease

    assert world.tick(DUE + timedelta(seconds=61), queued=1) == []  # its message still waits
    assert world.tick(DUE + timedelta(seconds=62), queued=1) == []
    assert world.tick(DUE + timedelta(seconds=63), queued=0) == []  # then it is missing
    assert world.tick(DUE + timedelta(seconds=64), queued=0) == [reminder]  # and was lost


def test_a_hand_out_a_worker_took_and_had_not_claimed_yet_is_not_handed_out_again(
    world: World,
) -> None:
    # given: past its lease, a worker takes the message off the queue; the scheduler
    # counts in the moment before the worker claims
    reminder = birthday(world)
    assert world.tick(DUE) == [reminder]
    assert world.tick(DUE + timedelta(seconds=61), queued=0) == []
    # when: the worker claims and sends it; the scheduler counts again
    assert world.delivery.deliver(reminder, DUE + timedelta(seconds=61)) == "sent"
    again = world.tick(DUE + timedelta(seconds=62), queued=0)
    # then: no second message for it was ever published
    assert again == []
    assert world.status(reminder).attempts == 1


def test_only_as_many_are_handed_out_again_as_the_queue_holds_too_few_messages_for(
    world: World,
) -> None:
    for name in ("Anna", "Ben", "Cleo"):
        person = world.cal.person(USER, NOON, first_name=name)
        world.cal.event(USER, person, NOON, event_date=date(1990, 3, 10))
    reminders = {UUID(str(row.id)) for row in world.cal.rows(USER)}
    assert set(world.tick(DUE)) == reminders  # one message each; the broker keeps one

    assert world.tick(DUE + timedelta(seconds=61), queued=1) == []  # two suspected
    again = world.tick(DUE + timedelta(seconds=62), queued=1)

    assert len(again) == 2 and set(again) <= reminders  # 1 queued + 2 again = 3 waiting


def test_downtime_is_caught_up_unless_the_occurrence_has_passed(world: World) -> None:
    reminder = birthday(world)

    late = DUE + timedelta(hours=5)  # the scheduler was down from 08:00 to 13:00
    assert Overdue(world.container.engine).count(late) == 1
    assert world.tick(late) == [reminder]
    assert world.delivery.deliver(reminder, late) == "sent"
    assert Overdue(world.container.engine).count(late) == 0


def test_a_reminder_whose_occurrence_passed_during_downtime_is_cancelled(world: World) -> None:
    reminder = birthday(world)

    assert world.tick(utc(2027, 3, 11, 0) + timedelta(days=1)) == []
    passed = world.status(reminder)
    assert (passed.status, passed.last_error) == ("cancelled", OCCURRENCE_PASSED)
    assert world.server.requests == []


def test_two_schedulers_ticking_at_once_create_each_notification_once(world: World) -> None:
    reminder = birthday(world)

    first = Ledger(world.container.engine).tick(DUE)
    second = Ledger(world.container.engine).tick(DUE)
    world.relay.relay()

    assert (first, second) == (1, 0)
    assert [n for _, n in world.published] == [reminder]


def test_a_rebuilt_schedule_sends_nothing_again(world: World) -> None:
    reminder = birthday(world)
    world.tick(DUE)
    assert world.delivery.deliver(reminder, DUE) == "sent"

    projection = PeopleAndDatesProjection()
    assert Rebuild(projection, world.cal.db.engine, world.cal.db.app.mapper).run(threading.Event())
    [row] = world.cal.rows(USER)

    assert UUID(str(row.id)) == reminder  # the same key, so the ledger already has it
    assert world.tick(DUE + timedelta(minutes=1)) == []
    assert len(world.server.requests) == 1


def test_the_sweep_starts_from_its_watermark_less_the_projections_lag(world: World) -> None:
    birthday(world)
    world.tick(DUE + timedelta(minutes=1))
    with world.container.engine.connect() as conn:
        swept_to = conn.exec_driver_sql("SELECT swept_to FROM scheduler_watermark").scalar_one()

    assert swept_to == DUE + timedelta(minutes=1)
    # A reminder the projector wrote late, due 30 min before the watermark, is still found.
    person = world.cal.rows(USER)[0].person_id
    at = DUE - timedelta(days=2)
    world.cal.event(USER, person, at, event_date=date(1990, 3, 10), title="Name day")
    late = [r for r in world.cal.rows(USER) if r.title == "Name day"]
    world.cal.db.execute(
        "UPDATE notification_schedule SET due_at = :at WHERE title = 'Name day'",
        at=DUE + timedelta(minutes=1) - timedelta(minutes=30),
    )
    assert world.tick(DUE + timedelta(minutes=2)) == [UUID(str(late[0].id))]


class CrashingProvider:
    """A channel whose provider has a bug: it raises what no provider should."""

    channel = "webhook"

    def send(self, message: Any, channel: Any) -> Any:
        raise RuntimeError("a bug in a provider")


def test_a_provider_that_crashes_counts_as_a_retryable_attempt(world: World) -> None:
    reminder = birthday(world)
    world.tick(DUE)
    crashing = Delivery(
        world.container.claims, {"webhook": CrashingProvider()},
        RetryPolicy(max_retries=3, backoff=timedelta(seconds=60)),
    )  # fmt: skip

    assert crashing.deliver(reminder, DUE) == "retry"  # not stuck in 'sending' forever
    detail = world.status(reminder)
    assert (detail.status, detail.last_error) == ("scheduled", "unexpected RuntimeError")


def test_one_tick_makes_notifications_of_more_reminders_than_one_batch(world: World) -> None:
    person = world.cal.person(USER, NOON, first_name="Anna")
    for day in range(3):  # three birthdays on one day, a batch of one
        world.cal.event(USER, person, NOON, event_date=date(1990 + day, 3, 10))
    world.cal.catch_up()

    with patch("pcem.notifications.ledger.SWEEP_BATCH", 1):
        handed_out = world.tick(DUE)

    assert len(handed_out) == 3  # not one a tick


def test_a_delivery_survives_its_database_connection_dropped_between_deliveries(
    world: World,
) -> None:
    person = world.cal.person(USER, NOON, first_name="Anna")
    for year in (1990, 1991):
        world.cal.event(USER, person, NOON, event_date=date(year, 3, 10))
    world.cal.catch_up()
    first, second = world.tick(DUE)
    assert world.delivery.deliver(first, DUE) == "sent"  # the pool now holds a connection

    # PostgreSQL restarts, or the network drops it: the idle connection is dead
    with world.container.engine.connect() as conn:
        dropped = conn.exec_driver_sql(
            "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity"
            " WHERE application_name = %s",
            (application_name("worker deliveries"),),
        ).scalar_one()
    assert dropped >= 1

    assert world.delivery.deliver(second, DUE) == "sent"
    assert [r.headers["webhook-id"] for r in world.server.requests] == [str(first), str(second)]
    assert (world.status(second).status, world.status(second).attempts) == ("sent", 1)


def test_a_user_who_never_saved_settings_is_reminded_in_app_by_default(world: World) -> None:
    newcomer = "never-saved-settings"
    person = world.cal.person(newcomer, NOON)
    world.cal.event(newcomer, person, NOON, event_date=date(1990, 3, 10))
    [on_the_day] = [r for r in world.cal.rows(newcomer) if r.lead_time_days == 0]
    assert (on_the_day.channel, on_the_day.due_at) == ("in_app", utc(2027, 3, 10, 9))  # UTC

    handed_out = world.tick(on_the_day.due_at)

    assert len(handed_out) == 3  # 7 days, 1 day before and on the day: all due by now
    assert {world.delivery.deliver(n, on_the_day.due_at) for n in handed_out} == {"sent"}
