"""Faults of the real processes: a worker and one of two schedulers SIGKILLed in
the middle of a batch; the broker restarted mid-run without persistence (it
loses every queued message), then the worker stopped (SIGTERM) mid-batch and
replaced; scheduler and worker stopped across the due time and started again a
day later. Every reminder still arrives — at most the one in flight at a SIGKILL
twice, with the same webhook-id, so a receiver can tell — and one whose
occurrence passed while PCEM was down is cancelled instead.

Each test ends with the checks of every fault test: a user's commands sent
throughout were all stored, and the read models (the notification schedule
among them) equal a fresh rebuild.

Twenty birthdays fall due at the next local minute; the receiver takes 0.2 s a
delivery, so the batch lasts long enough to be interrupted.
"""

from __future__ import annotations

from contextlib import ExitStack
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from pcem.commands.base import Written
from pcem.notifications.ledger import OCCURRENCE_PASSED
from pcem.settings import Settings
from pcem.wiring import Container, build_container
from tests.e2e.notification_helpers import (
    BROKERS,
    SlowReceiver,
    Writer,
    assert_nothing_acknowledged_lost_and_read_models_rebuild,
    broker_for,
    clock_at,
    count,
    kill_tree,
    ledger,
    next_minute,
    private_redis,
    process,
    redis_answers,
    reminders_at,
    scheduled,
    terminate,
)
from tests.integration.receivers import free_port, http_server
from tests.polling import wait_until

pytestmark = pytest.mark.slow

USER = "fault-user"
WRITER = "busy-user"  # sends commands while the faults happen
ZONE = ZoneInfo("Europe/Berlin")
PEOPLE = 20


def environment(broker: str) -> dict[str, str]:
    return {
        "PCEM_BROKER_URL": broker,
        "PCEM_SCHEDULER_TICK_SECONDS": "1",
        "PCEM_DELIVERY_LEASE_SECONDS": "3",  # what a dead worker held is handed out after 3 s
        "PCEM_LOG_LEVEL": "INFO",
    }


def webhook(url: str) -> dict[str, str]:
    return {"type": "webhook", "url": url, "secret": "s" * 24}


def due_soon(container: Container, url: str) -> tuple[datetime, list[Written[Any]]]:
    due = next_minute(ZONE)
    return due, reminders_at(container, USER, due, (webhook(url),), people=PEOPLE)


def wait_for_all(container: Container, due: datetime) -> None:
    wait_until(
        lambda: count(container, "sent") == PEOPLE,
        timeout=(due - datetime.now(ZONE)).total_seconds() + 90,
        what=f"{PEOPLE} notifications to be sent",
    )


def assert_each_arrived(container: Container, hook: SlowReceiver, *, repeated: int) -> None:
    sent = {str(r.id) for r in ledger(container, USER) if r.status == "sent"}
    ids = hook.ids()
    assert set(ids) == sent and len(sent) == PEOPLE  # every one arrived
    assert sum(n - 1 for n in ids.values()) <= repeated  # at most the ones in flight, again


@pytest.fixture(params=BROKERS)
def broker(request: pytest.FixtureRequest, isolated: Settings) -> str:
    return broker_for(request)


def test_a_worker_and_a_scheduler_killed_mid_batch_lose_nothing_and_repeat_at_most_one(
    isolated: Settings, broker: str, tmp_path: Path
) -> None:
    hook = SlowReceiver()
    env = {**environment(broker), "TMPDIR": str(tmp_path)}  # a killed beat's state is left there
    with http_server(hook) as server, ExitStack() as stack:
        container = build_container(isolated, pool_size=4)
        stack.callback(container.close)
        stack.enter_context(process(isolated, env, "projector"))
        scheduler = stack.enter_context(process(isolated, env, "scheduler"))
        stack.enter_context(process(isolated, env, "scheduler"))  # two, by mistake
        first = stack.enter_context(process(isolated, env, "worker", "--concurrency", "1"))
        due, acknowledged = due_soon(container, server.url)
        wait_until(lambda: len(hook.requests) >= 3, timeout=120, what="the batch to start")
        writer = stack.enter_context(Writer(container, WRITER))  # from the fault to the end
        kill_tree(first)  # SIGKILL, mid-send
        kill_tree(scheduler)  # and one of the two schedulers, between its ticks
        stack.enter_context(process(isolated, env, "worker", "--concurrency", "1"))
        stack.enter_context(process(isolated, env, "scheduler"))
        wait_for_all(container, due)  # all sent: nothing is left to hand out again
        writer.stop()
        assert_each_arrived(container, hook, repeated=1)
        assert_nothing_acknowledged_lost_and_read_models_rebuild(
            container, acknowledged + writer.acknowledged
        )
        writer.assert_each_birthday_scheduled()


def test_a_broker_restarted_then_a_worker_stopped_mid_run_lose_and_repeat_nothing(
    isolated: Settings, tmp_path: Path
) -> None:
    hook = SlowReceiver()
    port = free_port()
    env = environment(f"redis://127.0.0.1:{port}/0")
    with http_server(hook) as server, ExitStack() as stack:
        broker = stack.enter_context(private_redis(port, tmp_path))
        container = build_container(isolated, pool_size=4)
        stack.callback(container.close)
        for command in (("projector",), ("scheduler",)):
            stack.enter_context(process(isolated, env, *command))
        worker = stack.enter_context(process(isolated, env, "worker", "--concurrency", "1"))
        due, acknowledged = due_soon(container, server.url)
        wait_until(lambda: len(hook.requests) >= 3, timeout=120, what="the batch to start")
        writer = stack.enter_context(Writer(container, WRITER))  # from the fault to the end
        broker.terminate()  # every queued delivery task is gone with it
        broker.wait(timeout=10)
        wait_until(lambda: not redis_answers(port), timeout=10, what="the broker to be down")
        stack.enter_context(private_redis(port, tmp_path))
        arrived = len(hook.requests)
        wait_until(lambda: len(hook.requests) > arrived, timeout=60, what="sends to go on")
        terminate(worker)  # SIGTERM mid-batch, as a deploy does: it finishes its send
        stack.enter_context(process(isolated, env, "worker", "--concurrency", "1"))
        wait_for_all(container, due)
        writer.stop()
        assert_each_arrived(container, hook, repeated=0)  # the broker held no send
        assert_nothing_acknowledged_lost_and_read_models_rebuild(
            container, acknowledged + writer.acknowledged
        )
        writer.assert_each_birthday_scheduled()


# Downtime: reminders due in a few minutes, for two users in Kathmandu (+05:45,
# no DST): one's birthday is that day, the other's the day after (reminded a day
# ahead). Scheduler and worker stop before the due time; they come back a day
# later, at 00:30 after the due day, their clocks moved on by libfaketime.
KATHMANDU = ZoneInfo("Asia/Kathmandu")
PASSED = "birthday-on-the-due-day"  # its occurrence is over when PCEM comes back
LATE = "birthday-the-day-after"  # its occurrence is still ahead: sent late
EACH = 3


def swept_to(container: Container) -> datetime:
    with container.engine.connect() as conn:
        found = conn.execute(text("SELECT swept_to FROM scheduler_watermark")).scalar_one()
    assert isinstance(found, datetime)
    return found


def test_downtime_across_the_due_time_sends_late_once_and_cancels_what_passed(
    isolated: Settings, broker: str
) -> None:
    hook = SlowReceiver()
    env = environment(broker)
    with http_server(hook) as server, ExitStack() as stack:
        container = build_container(isolated, pool_size=4)
        stack.callback(container.close)
        stack.enter_context(process(isolated, env, "projector"))
        scheduler = stack.enter_context(process(isolated, env, "scheduler"))
        worker = stack.enter_context(process(isolated, env, "worker", "--concurrency", "1"))
        # Minutes ahead: set-up never races the due time, and nobody waits for it.
        due = next_minute(KATHMANDU) + timedelta(minutes=2)
        channels = (webhook(server.url),)
        acknowledged = reminders_at(container, PASSED, due, channels, people=EACH)
        acknowledged += reminders_at(container, LATE, due, channels, EACH, lead_time_days=1)
        wait_until(
            lambda: scheduled(container, PASSED) == scheduled(container, LATE) == EACH,
            timeout=30,
            what="the reminders to be in the schedule",
        )
        running = datetime.now(UTC)
        wait_until(lambda: swept_to(container) > running, timeout=30, what="a tick")

        terminate(scheduler)  # SIGTERM
        kill_tree(worker)  # SIGKILL
        assert datetime.now(UTC) < due, "PCEM should go down before the reminders fall due"
        back = datetime.combine(due.date() + timedelta(days=1), time(0, 30), KATHMANDU)
        later = {**env, **clock_at(back)}
        stack.enter_context(process(isolated, later, "worker", "--concurrency", "1"))
        stack.enter_context(process(isolated, later, "scheduler"))
        wait_until(
            lambda: count(container, "sent") == count(container, "cancelled") == EACH,
            timeout=60,
            what="the late reminders sent and the passed ones cancelled",
        )

        late, passed = ledger(container, LATE), ledger(container, PASSED)
        assert all(r.status == "sent" and r.attempts == 1 for r in late)
        assert all(r.sent_at >= back.astimezone(UTC) for r in late)  # late, by the moved clock
        assert hook.ids() == {str(r.id): 1 for r in late}  # each once; nothing of the passed
        assert all(r.status == "cancelled" and r.last_error == OCCURRENCE_PASSED for r in passed)
        assert all(r.attempts == 0 and r.sent_at is None for r in passed)
        assert_nothing_acknowledged_lost_and_read_models_rebuild(container, acknowledged)
