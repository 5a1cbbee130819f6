"""The promise end to end: real `pcem projector`, `pcem worker` and `pcem scheduler`
processes, on Redis and on RabbitMQ, deliver a birthday reminder at its local
delivery time over a webhook, email (a real local SMTP server) and in-app, once
each — also when a second scheduler runs by mistake.

The delivery time is the next whole minute in the user's zone, so a test waits
up to about a minute and a half for real time to pass: no clock is frozen here.
"""

from __future__ import annotations

from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pcem.settings import Settings
from pcem.wiring import build_container
from tests.e2e.notification_helpers import (
    BROKERS,
    broker_for,
    count,
    ledger,
    next_minute,
    process,
    reminders_at,
)
from tests.integration.receivers import Answer, Mailbox, Request, http_server, smtp_server
from tests.polling import wait_until

pytestmark = pytest.mark.slow

USER = "e2e-user"
ZONE = ZoneInfo("America/St_Johns")  # a half-hour zone, to be sure the local time is used


@pytest.fixture(params=BROKERS)
def broker(request: pytest.FixtureRequest, isolated: Settings) -> str:
    return broker_for(request)


def test_a_reminder_arrives_on_time_once_on_every_channel(isolated: Settings, broker: str) -> None:
    hooks: list[Request] = []
    mailbox = Mailbox()

    def receive(request: Request) -> Answer:
        hooks.append(request)
        return Answer(204)

    with http_server(receive) as hook, smtp_server(mailbox) as smtp, ExitStack() as processes:
        env = {
            "PCEM_BROKER_URL": broker,
            "PCEM_SCHEDULER_TICK_SECONDS": "1",
            "PCEM_LOG_LEVEL": "INFO",
            "PCEM_SMTP_HOST": "127.0.0.1",
            "PCEM_SMTP_PORT": str(smtp.port),
            "PCEM_SMTP_FROM": "reminders@pcem.test",
        }
        container = build_container(isolated, pool_size=2)
        processes.callback(container.close)
        for command in (("projector",), ("worker",), ("scheduler",), ("scheduler",)):
            processes.enter_context(process(isolated, env, *command))  # two schedulers
        due = next_minute(ZONE)
        channels = (
            {"type": "webhook", "url": hook.url, "secret": "s" * 24},
            {"type": "email", "address": "zoe@example.org"},
            {"type": "in_app"},
        )
        reminders_at(container, USER, due, channels)
        wait_until(
            lambda: count(container, "sent") == 3,
            timeout=(due - datetime.now(ZONE)).total_seconds() + 60,
            what="three notifications to be sent",
        )
        rows = ledger(container, USER)  # all sent: nothing is left to hand out again

    assert {r.channel for r in rows} == {"webhook", "email", "in_app"}
    assert all(r.status == "sent" and r.attempts == 1 for r in rows)
    assert all(r.sent_at >= due.astimezone(UTC) for r in rows)  # not before its time
    assert all(r.sent_at < due.astimezone(UTC) + timedelta(seconds=10) for r in rows)  # on the mark
    webhook = next(r for r in rows if r.channel == "webhook")
    assert [h.headers["webhook-id"] for h in hooks] == [str(webhook.id)]  # once
    assert webhook.title == "Zoë Ångström's birthday is today"
    [mail] = mailbox.messages()
    assert mail["Subject"] == "Zoë Ångström's birthday is today"
    assert mail["Message-ID"].startswith(f"<{next(r.id for r in rows if r.channel == 'email')}")
