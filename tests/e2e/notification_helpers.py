"""Real notification processes for end-to-end tests: a user, their reminders at the
next local minute, the ledger as it stands, processes started and stopped (also
with their clock moved on), a private broker, commands written while faults
happen, and the checks every fault test ends with: nothing acknowledged lost,
the read models equal to a fresh rebuild."""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import libfaketime
import psutil
import pytest
import redis
from sqlalchemy import text

from pcem.aggregates.event import CalendarEvent
from pcem.aggregates.settings import Preferences
from pcem.commands.base import Written
from pcem.projections.catalog import all_projections
from pcem.projector.verify import Verification
from pcem.settings import Settings
from pcem.wiring import Container
from tests.integration.projection_helpers import start_pcem
from tests.integration.receivers import Answer, Request
from tests.polling import wait_until


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


def terminate(parent: psutil.Process) -> None:
    """SIGTERM, as an operator's `kill` or systemd's stop, and wait for the exit."""
    parent.terminate()
    parent.wait(timeout=20)


def clock_at(instant: datetime) -> dict[str, str]:
    """Environment that starts a process's wall clock at ``instant`` (libfaketime,
    preloaded), from where it runs on at the normal rate: a downtime of a day
    without waiting a day. Monotonic clocks are left alone."""
    _, env = libfaketime.get_reload_information()
    offset = (instant - datetime.now(UTC)).total_seconds()
    return {**env, "FAKETIME": f"{offset:+.3f}", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}


def next_minute(zone: ZoneInfo) -> datetime:
    """The next whole local minute at least 12 s away (time to set up before it)."""
    now = datetime.now(zone)
    return (now + timedelta(seconds=12)).replace(second=0, microsecond=0) + timedelta(minutes=1)


def reminders_at(
    container: Container, user_id: str, due: datetime, channels: tuple[dict[str, Any], ...],
    people: int = 1, lead_time_days: int = 0,
) -> list[Written[Any]]:  # fmt: skip
    """``people`` birthdays ``lead_time_days`` after ``due``'s date, each reminded at
    ``due`` (local); the commands as acknowledged."""
    zone = due.tzinfo
    assert isinstance(zone, ZoneInfo)
    birthday = due.date() + timedelta(days=lead_time_days)
    written: list[Written[Any]] = [
        container.settings_app.replace_settings(
            user_id,
            Preferences(
                timezone=zone.key,
                lead_time_days=(lead_time_days,),
                delivery_time=due.strftime("%H:%M"),
                channels=channels,
            ),
        )
    ]
    for number in range(people):
        person = container.people.create_person(
            user_id,
            first_name="Zoë" if number == 0 else f"Friend{number}",
            last_name="Ångström",
            primary_contact=None,
            metadata={},
        )
        event = container.calendar.create_event(
            user_id,
            person.aggregate.id,
            title="Birthday",
            event_date=date(1990, birthday.month, birthday.day),
            is_special_event=True,
            recurrence="yearly",
            notes="",
        )
        written += [person, event]
    return written


def ledger(container: Container, user_id: str) -> list[Any]:
    with container.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM notifications WHERE user_id = :u"), {"u": user_id})
        return list(rows)


def count(container: Container, status: str) -> int:
    with container.engine.connect() as conn:
        statement = text("SELECT count(*) FROM notifications WHERE status = :s")
        return int(conn.execute(statement, {"s": status}).scalar_one())


def scheduled(container: Container, user_id: str) -> int:
    """The user's reminders the projector has put in the schedule, still to go."""
    with container.engine.connect() as conn:
        statement = text(
            "SELECT count(*) FROM notification_schedule WHERE user_id = :u AND status = 'scheduled'"
        )
        return int(conn.execute(statement, {"u": user_id}).scalar_one())


class SlowReceiver:
    """A webhook receiver that takes 0.2 s a delivery: a batch lasts long enough to
    be interrupted. It counts what arrived by webhook-id (the notification id)."""

    def __init__(self) -> None:
        self.requests: list[Request] = []

    def __call__(self, request: Request) -> Answer:
        self.requests.append(request)
        time.sleep(0.2)  # the receiver's own work, not a wait for a condition
        return Answer(204)

    def ids(self) -> Counter[str]:
        return Counter(r.headers["webhook-id"] for r in self.requests)


@contextmanager
def private_redis(port: int, directory: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A redis-server of the test's own, keeping nothing on disk (as the machine's)."""
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1"]
    command += ["--save", "", "--appendonly", "no", "--dir", str(directory)]
    log = directory / f"redis-{port}.log"
    with log.open("ab") as output:
        server = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    try:
        up = lambda: server.poll() is not None or redis_answers(port)  # noqa: E731
        wait_until(up, timeout=10, what="the private redis-server")
        assert server.poll() is None, f"redis-server exited: {log.read_text()[-2000:]}"
        yield server
    finally:
        server.terminate()
        server.wait(timeout=10)


def redis_answers(port: int) -> bool:
    try:
        client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=0.5)
        return bool(client.ping())
    except redis.RedisError:
        return False


class Writer:
    """Commands a user keeps sending while the faults happen (a person and a birthday
    next month, reminded in-app, over and over): what was acknowledged is kept to
    check at the end."""

    def __init__(self, container: Container, user_id: str) -> None:
        self.container = container
        self.user_id = user_id
        self.acknowledged: list[Written[Any]] = []
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._write, daemon=True)

    def __enter__(self) -> Writer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._halt()  # quietly: a test that failed already says why

    def stop(self) -> None:
        """Stop writing; every command must have been acknowledged."""
        self._halt()
        assert self.error is None, f"a command failed during the run: {self.error!r}"
        assert self.birthdays, "no birthday was acknowledged during the run"

    @property
    def birthdays(self) -> int:
        return sum(isinstance(w.aggregate, CalendarEvent) for w in self.acknowledged)

    def assert_each_birthday_scheduled(self) -> None:
        """Both reminders (7 days ahead, on the day) of each acknowledged birthday are
        in the schedule: the load reached the read model that was compared."""
        assert scheduled(self.container, self.user_id) == 2 * self.birthdays

    def _halt(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _write(self) -> None:
        try:
            self._keep_writing()
        except BaseException as error:  # seen by stop(), in the test's thread
            self.error = error

    def _keep_writing(self) -> None:
        in_app = Preferences(
            timezone="UTC", lead_time_days=(7, 0), delivery_time="09:00",
            channels=({"type": "in_app"},),
        )  # fmt: skip
        self.acknowledged.append(self.container.settings_app.replace_settings(self.user_id, in_app))
        # In the schedule, not due during the test (2000: a leap year, for 29 February).
        birthday = (date.today() + timedelta(days=30)).replace(year=2000)
        while not self._stop.wait(0.2):  # a steady trickle, not a flood
            person = self.container.people.create_person(
                self.user_id, first_name="Load", last_name="Test", primary_contact=None,
                metadata={},
            )  # fmt: skip
            event = self.container.calendar.create_event(
                self.user_id,
                person.aggregate.id,
                title="Birthday",
                event_date=birthday,
                is_special_event=True,
                recurrence="yearly",
                notes="",
            )
            self.acknowledged += [person, event]


def assert_nothing_acknowledged_lost_and_read_models_rebuild(
    container: Container, acknowledged: list[Written[Any]]
) -> None:
    """Every acknowledged command is in the event store (its aggregate at the version
    it was acknowledged with, and its last event at the acknowledged position), and
    every projection, caught up, equals a fresh rebuild of it (the notification
    schedule included)."""
    stored = text(
        "SELECT count(*) FROM pcem_events"
        " WHERE originator_id = :id AND originator_version = :version"
    )
    position = text("SELECT count(*) FROM pcem_events WHERE notification_id = :position")
    with container.engine.connect() as conn:
        for written in acknowledged:
            aggregate = {"id": written.aggregate.id, "version": written.aggregate.version}
            assert conn.execute(stored, aggregate).scalar_one() == 1, f"{aggregate} not stored"
            assert conn.execute(position, {"position": written.position}).scalar_one() == 1
    wait_until(
        lambda: all(s.lag == 0 for s in container.tracking.statuses()),
        timeout=60,
        what="the projections to catch up",
    )
    for projection in all_projections():
        verification = Verification(projection, container.engine, container.people.mapper)
        result = verification.run(threading.Event(), lambda position, head: None)
        assert result is not None
        assert result.identical, [t for t in result.tables if not t.identical]
