"""The promise end to end: real `pcem projector`, `pcem worker` and `pcem scheduler`
processes, on Redis and on RabbitMQ, deliver a birthday reminder at its local
delivery time over a webhook, email (a real local SMTP server) and in-app, once
each — also when a second scheduler runs by mistake.

The delivery time is the next whole minute in the user's zone, so a test waits
up to about a minute and a half for real time to pass: no clock is frozen here.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from pcem.aggregates.settings import Preferences
from pcem.settings import Settings
from pcem.wiring import build_container
from tests.integration.projection_helpers import start_pcem
from tests.integration.receivers import Answer, Mailbox, Request, http_server, smtp_server
from tests.polling import wait_until

pytestmark = pytest.mark.slow

RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"
USER = "e2e-user"
ZONE = ZoneInfo("America/St_Johns")  # a half-hour zone, to be sure the local time is used


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(params=["redis", "rabbitmq"])
def broker(request: pytest.FixtureRequest, isolated: Settings) -> str:
    if request.param == "rabbitmq":
        if not answers("127.0.0.1", 5672):
            pytest.skip("RabbitMQ does not answer on 127.0.0.1:5672 (CI and dev machines run it)")
        return RABBITMQ
    return isolated.require_redis().url.rsplit("/", 1)[0] + "/14"


@contextmanager
def running(settings: Settings, env: dict[str, str], *commands: tuple[str, ...]) -> Iterator[None]:
    with ExitStack() as stack:
        for command in commands:
            process = start_pcem(settings, *command, env_extra=env)
            stack.callback(stop, process)
        yield


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def next_minute(zone: ZoneInfo) -> datetime:
    """The next whole local minute at least 20 s away (time to set up before it)."""
    now = datetime.now(zone)
    due = (now + timedelta(seconds=20)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    return due


def test_a_reminder_arrives_on_time_once_on_every_channel(isolated: Settings, broker: str) -> None:
    hooks: list[Request] = []
    mailbox = Mailbox()

    def receive(request: Request) -> Answer:
        hooks.append(request)
        return Answer(204)

    with http_server(receive) as hook, smtp_server(mailbox) as smtp:
        env = {
            "PCEM_BROKER_URL": broker,
            "PCEM_SCHEDULER_TICK_SECONDS": "1",
            "PCEM_LOG_LEVEL": "INFO",
            "PCEM_SMTP_HOST": "127.0.0.1",
            "PCEM_SMTP_PORT": str(smtp.port),
            "PCEM_SMTP_FROM": "reminders@pcem.test",
        }
        container = build_container(isolated, pool_size=2)
        try:
            with running(
                isolated, env, ("projector",), ("worker", "--concurrency", "2"), ("scheduler",),
                ("scheduler",),  # a second one by mistake changes nothing
            ):  # fmt: skip
                due = next_minute(ZONE)
                container.settings_app.replace_settings(
                    USER,
                    Preferences(
                        timezone=ZONE.key,
                        lead_time_days=(0,),
                        delivery_time=due.strftime("%H:%M"),
                        channels=(
                            {"type": "webhook", "url": hook.url, "secret": "s" * 24},
                            {"type": "email", "address": "zoe@example.org"},
                            {"type": "in_app"},
                        ),
                    ),
                )
                person = container.people.create_person(
                    USER, first_name="Zoë", last_name="Ångström", primary_contact=None, metadata={}
                )
                container.calendar.create_event(
                    USER,
                    person.aggregate.id,
                    title="Birthday",
                    event_date=date(1990, due.month, due.day),
                    is_special_event=True,
                    recurrence="yearly",
                    notes="",
                )
                wait_until(
                    lambda: sent(container) == 3,
                    timeout=(due - datetime.now(ZONE)).total_seconds() + 60,
                    what="three notifications to be sent",
                )
                time.sleep(3)  # a few more ticks: nothing more may arrive
            rows = ledger(container)
        finally:
            container.close()

    assert {r.channel for r in rows} == {"webhook", "email", "in_app"}
    assert all(r.status == "sent" and r.attempts == 1 for r in rows)
    assert all(r.sent_at >= due.astimezone(UTC) for r in rows)  # not before its time
    assert all(r.sent_at < due.astimezone(UTC) + timedelta(seconds=30) for r in rows)
    webhook = next(r for r in rows if r.channel == "webhook")
    assert [h.headers["webhook-id"] for h in hooks] == [str(webhook.id)]  # once
    [mail] = mailbox.messages()
    assert mail["Subject"] == "Zoë Ångström's birthday is today"
    assert mail["Message-ID"].startswith(f"<{next(r.id for r in rows if r.channel == 'email')}")
    assert webhook.title == "Zoë Ångström's birthday is today"


def sent(container: Any) -> int:
    with container.engine.connect() as conn:
        return int(
            conn.execute(text("SELECT count(*) FROM notifications WHERE status = 'sent'")).scalar()
        )


def ledger(container: Any) -> list[Any]:
    with container.engine.connect() as conn:
        return list(
            conn.execute(text("SELECT * FROM notifications WHERE user_id = :u"), {"u": USER})
        )
