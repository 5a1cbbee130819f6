"""Real notification processes for end-to-end tests: a user, their reminders at the
next local minute, the ledger as it stands, and processes started and stopped."""

from __future__ import annotations

import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psutil
import pytest
from sqlalchemy import text

from pcem.aggregates.settings import Preferences
from pcem.settings import Settings
from pcem.wiring import Container
from tests.integration.projection_helpers import start_pcem


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


# The brokers the notification tests run on: RabbitMQ where it answers (CI and the
# development machines run it on 127.0.0.1:5672), Redis everywhere.
BROKERS = ["redis", *(["rabbitmq"] if answers("127.0.0.1", 5672) else [])]


def broker_for(request: pytest.FixtureRequest) -> str:
    """The broker URL of a test parametrised over BROKERS: this run's own Redis database
    or RabbitMQ vhost, so that another run on the machine never takes its tasks."""
    if request.param == "rabbitmq":
        return str(request.getfixturevalue("rabbitmq"))
    return str(request.getfixturevalue("redis_server").broker_url)


@contextmanager
def process(settings: Settings, env: dict[str, str], *command: str) -> Iterator[psutil.Process]:
    """A `pcem` process, stopped (SIGTERM, then SIGKILL) when the block ends."""
    popen = start_pcem(settings, *command, env_extra=env, start_new_session=True)
    try:
        yield psutil.Process(popen.pid)
    finally:
        stop(popen)


def stop(popen: subprocess.Popen[str]) -> None:
    if popen.poll() is None:
        popen.send_signal(signal.SIGTERM)
    try:
        popen.wait(timeout=20)
    except subprocess.TimeoutExpired:
        kill_tree(psutil.Process(popen.pid))
        popen.wait()


def kill_tree(parent: psutil.Process) -> None:
    """SIGKILL a process and its children (a Celery worker's pool): no goodbye."""
    members = [parent, *parent.children(recursive=True)]
    for member in members:
        with suppress(psutil.NoSuchProcess):
            member.kill()
    psutil.wait_procs(members, timeout=10)


def next_minute(zone: ZoneInfo) -> datetime:
    """The next whole local minute at least 12 s away (time to set up before it)."""
    now = datetime.now(zone)
    return (now + timedelta(seconds=12)).replace(second=0, microsecond=0) + timedelta(minutes=1)


def reminders_at(
    container: Container, user_id: str, due: datetime, channels: tuple[dict[str, Any], ...],
    people: int = 1,
) -> None:  # fmt: skip
    """``people`` birthdays today, each reminded on the day at ``due`` (local)."""
    zone = due.tzinfo
    assert isinstance(zone, ZoneInfo)
    container.settings_app.replace_settings(
        user_id,
        Preferences(
            timezone=zone.key,
            lead_time_days=(0,),
            delivery_time=due.strftime("%H:%M"),
            channels=channels,
        ),
    )
    for number in range(people):
        person = container.people.create_person(
            user_id,
            first_name="Zoë" if number == 0 else f"Friend{number}",
            last_name="Ångström",
            primary_contact=None,
            metadata={},
        )
        container.calendar.create_event(
            user_id,
            person.aggregate.id,
            title="Birthday",
            event_date=date(1990, due.month, due.day),
            is_special_event=True,
            recurrence="yearly",
            notes="",
        )


def ledger(container: Container, user_id: str) -> list[Any]:
    with container.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM notifications WHERE user_id = :u"), {"u": user_id})
        return list(rows)


def count(container: Container, status: str) -> int:
    with container.engine.connect() as conn:
        statement = text("SELECT count(*) FROM notifications WHERE status = :s")
        return int(conn.execute(statement, {"s": status}).scalar_one())
