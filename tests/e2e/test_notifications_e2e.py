"""The promise end to end: real `pcem projector`, `pcem worker` and `pcem scheduler`
processes, on Redis and on RabbitMQ, deliver a birthday reminder at its local
delivery time over a webhook, email (a real local SMTP server) and in-app, once
each — also when a second scheduler runs by mistake.

The delivery time is the next whole minute in the user's zone, so a test waits
up to about a minute and a half for real time to pass: no clock is frozen here.
"""

from __future__ import annotations

import subprocess
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from pcem.settings import Settings
from pcem.wiring import build_container
from tests.conftest import TokenFactory
from tests.e2e.notification_helpers import (
    BROKERS,
    broker_for,
    count,
    ledger,
    next_minute,
    process,
    reminders_at,
)
from tests.integration.api_helpers import bearer
from tests.integration.process_manager_helpers import api_of
from tests.integration.projection_helpers import start_pcem
from tests.integration.receivers import Answer, Mailbox, Request, http_server, smtp_server
from tests.polling import wait_until

pytestmark = pytest.mark.slow

USER = "e2e-user"
SETTINGS = "/api/v1/me/settings"
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


def test_a_corrected_webhook_url_receives_the_missed_reminder_once_on_retry(
    isolated: Settings, redis_server: Any, token_for: TokenFactory
) -> None:
    """The user's story: the webhook's URL was wrong (404), they correct it in their
    settings, an operator runs `pcem notifications retry --all`."""

    def receive(request: Request) -> Answer:
        return Answer(204 if request.path == "/hook" else 404)

    with http_server(receive) as hook, ExitStack() as processes:
        env = {"PCEM_BROKER_URL": redis_server.broker_url, "PCEM_SCHEDULER_TICK_SECONDS": "1"}
        container = build_container(isolated, pool_size=2)
        processes.callback(container.close)
        for command in (("projector",), ("worker",), ("scheduler",)):
            processes.enter_context(process(isolated, env, *command))
        api = processes.enter_context(api_of(isolated))
        mine = bearer(token_for(USER))
        due = next_minute(ZONE)
        wrong = {"type": "webhook", "url": hook.url + "/hokk", "secret": "s" * 24}
        reminders_at(container, USER, due, (wrong,))
        wait_until(
            lambda: count(container, "failed") == 1,
            timeout=(due - datetime.now(ZONE)).total_seconds() + 60,
            what="the reminder to fail at the wrong URL",
        )

        corrected = api.get(SETTINGS, headers=mine).json()
        corrected["notifications"]["channels"] = [{**wrong, "url": hook.url + "/hook"}]
        saved = api.put(SETTINGS, json=corrected, headers=mine)
        assert saved.status_code == 200, saved.text
        seen = {**mine, "PCEM-Min-Position": saved.headers["PCEM-Position"]}
        assert api.get(SETTINGS, headers=seen).json() == saved.json()  # the projector has it
        retried = start_pcem(isolated, "notifications", "retry", "--all",
                             env_extra=env, stdout=subprocess.PIPE)  # fmt: skip
        out, _ = retried.communicate(timeout=60)
        wait_until(lambda: count(container, "sent") == 1, timeout=60, what="the retry's send")
        [row] = ledger(container, USER)

    assert (retried.returncode, out) == (0, "pcem: 1 notification(s) will be sent again\n")
    assert [(r.path, r.headers["webhook-id"]) for r in hook.requests] == [
        ("/hokk", str(row.id)),
        ("/hook", str(row.id)),
    ]
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
