"""Faults of the real processes: a worker SIGKILLed in the middle of a batch, and
the broker restarted mid-run without persistence (it loses every queued message).
Every reminder still arrives, and at most the one in flight arrives twice — with
the same webhook-id, so a receiver can tell.

Twenty birthdays fall due at the next local minute; the receiver takes 0.2 s a
delivery, so the batch lasts long enough to be interrupted.
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pcem.settings import Settings
from pcem.wiring import Container, build_container
from tests.e2e.notification_helpers import (
    BROKERS,
    broker_for,
    count,
    kill_tree,
    ledger,
    next_minute,
    process,
    reminders_at,
)
from tests.integration.receivers import Answer, Request, free_port, http_server
from tests.polling import wait_until

pytestmark = pytest.mark.slow

USER = "fault-user"
ZONE = ZoneInfo("Europe/Berlin")
PEOPLE = 20


class SlowReceiver:
    def __init__(self) -> None:
        self.requests: list[Request] = []

    def __call__(self, request: Request) -> Answer:
        self.requests.append(request)
        time.sleep(0.2)
        return Answer(204)

    def ids(self) -> Counter[str]:
        return Counter(r.headers["webhook-id"] for r in self.requests)


def environment(broker: str) -> dict[str, str]:
    return {
        "PCEM_BROKER_URL": broker,
        "PCEM_SCHEDULER_TICK_SECONDS": "1",
        "PCEM_DELIVERY_LEASE_SECONDS": "3",  # what a dead worker held is handed out after 3 s
        "PCEM_LOG_LEVEL": "INFO",
    }


def due_soon(container: Container, url: str) -> datetime:
    due = next_minute(ZONE)
    webhook = {"type": "webhook", "url": url, "secret": "s" * 24}
    reminders_at(container, USER, due, (webhook,), people=PEOPLE)
    return due


def wait_for_all(container: Container, due: datetime) -> None:
    wait_until(
        lambda: count(container, "sent") == PEOPLE,
        timeout=(due - datetime.now(ZONE)).total_seconds() + 90,
        what=f"{PEOPLE} notifications to be sent",
    )


def assert_each_arrived_and_at_most_one_twice(container: Container, hook: SlowReceiver) -> None:
    sent = {str(r.id) for r in ledger(container, USER) if r.status == "sent"}
    ids = hook.ids()
    assert set(ids) == sent and len(sent) == PEOPLE  # every one arrived
    assert sum(n - 1 for n in ids.values()) <= 1  # at most the one in flight, again


@pytest.fixture(params=BROKERS)
def broker(request: pytest.FixtureRequest, isolated: Settings) -> str:
    return broker_for(request)


def test_a_worker_killed_mid_batch_loses_nothing_and_repeats_at_most_one(
    isolated: Settings, broker: str
) -> None:
    hook = SlowReceiver()
    env = environment(broker)
    with http_server(hook) as server, ExitStack() as stack:
        container = build_container(isolated, pool_size=2)
        stack.callback(container.close)
        stack.enter_context(process(isolated, env, "projector"))
        stack.enter_context(process(isolated, env, "scheduler"))
        first = stack.enter_context(process(isolated, env, "worker", "--concurrency", "1"))
        due = due_soon(container, server.url)
        wait_until(lambda: len(hook.requests) >= 3, timeout=120, what="the batch to start")
        kill_tree(first)  # SIGKILL, mid-send
        stack.enter_context(process(isolated, env, "worker", "--concurrency", "1"))
        wait_for_all(container, due)  # all sent: nothing is left to hand out again
        assert_each_arrived_and_at_most_one_twice(container, hook)


@contextmanager
def private_redis(port: int, directory: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A redis-server of the test's own, keeping nothing on disk (as the machine's)."""
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1"]
    command += ["--save", "", "--appendonly", "no", "--dir", str(directory)]
    server = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: _answers(port), timeout=10, what="the private redis-server")
        yield server
    finally:
        server.terminate()
        server.wait(timeout=10)


def _answers(port: int) -> bool:
    import redis

    try:
        return bool(redis.Redis(port=port, socket_timeout=0.5).ping())
    except redis.RedisError:
        return False


def test_a_broker_restarted_mid_run_loses_nothing(isolated: Settings, tmp_path: Path) -> None:
    hook = SlowReceiver()
    port = free_port()
    env = environment(f"redis://127.0.0.1:{port}/0")
    with http_server(hook) as server, ExitStack() as stack:
        broker = stack.enter_context(private_redis(port, tmp_path))
        container = build_container(isolated, pool_size=2)
        stack.callback(container.close)
        for command in (("projector",), ("scheduler",), ("worker", "--concurrency", "1")):
            stack.enter_context(process(isolated, env, *command))
        due = due_soon(container, server.url)
        wait_until(lambda: len(hook.requests) >= 3, timeout=120, what="the batch to start")
        broker.terminate()  # every queued delivery task is gone with it
        broker.wait(timeout=10)
        wait_until(lambda: not _answers(port), timeout=10, what="the broker to be down")
        stack.enter_context(private_redis(port, tmp_path))
        wait_for_all(container, due)
        assert_each_arrived_and_at_most_one_twice(container, hook)
