"""A worker process SIGKILLed in the middle of sending a digest: its members are sent
once, together, after the lease, as the same message.

The worker is a real process of its own (started with ``spawn``, its own connections)
running the delivery of one member; the SMTP server holds the message at the end of
its DATA, without answering, until the worker has been killed, so the mail was never
accepted. The test then does what the scheduler and the next worker would.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from pcem.processors.delivery import Delivery
from pcem.processors.providers.registry import providers_for
from pcem.settings import Settings
from pcem.wiring import build_container
from tests.integration.digest_helpers import DUE, EMAIL, RETRIES, Digests, digests_of, mail_id

pytestmark = pytest.mark.slow


@dataclass
class FirstMailHeld:
    """Holds the first mail at the end of its DATA, never answering; passes the rest on
    to the mailbox's own ``handle_DATA``."""

    take: Callable[[SMTP, Session, Envelope], Awaitable[str]]
    held: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if not self.held.is_set():
            self.held.set()
            await asyncio.sleep(600)  # until the connection is gone and this is cancelled
        return await self.take(server, session, envelope)


@pytest.fixture
def digests(isolated: Settings) -> Iterator[Digests]:
    yield from digests_of(isolated)


def worker(settings: Settings, notification_id: UUID) -> None:
    """A worker process's delivery of one notification (the child's whole life)."""
    container = build_container(settings, role="worker", pool_size=1)
    providers = providers_for(settings, container.redis, container.http)
    Delivery(container.claims, providers, RETRIES).deliver(notification_id, DUE)


def statuses(digests: Digests, members: list[UUID]) -> list[Any]:
    return [digests.detail(n).status for n in members]


def test_a_worker_killed_mid_send_has_its_digest_delivered_exactly_once(
    digests: Digests,
) -> None:
    # given three birthdays due at 09:00, and a worker in the middle of their digest
    digests.prefer(EMAIL)
    digests.birthdays("Anna", "Ben", "Cleo")
    members = digests.tick(DUE)
    holding = FirstMailHeld(digests.mailbox.handle_DATA)
    digests.mailbox.handle_DATA = holding.handle_DATA  # type: ignore[method-assign]
    process = multiprocessing.get_context("spawn").Process(
        target=worker, args=(digests.settings, members[0])
    )
    process.start()
    assert holding.held.wait(timeout=120), "the worker never sent its mail"

    # when it is killed there, before the server accepted the mail
    os.kill(process.pid, signal.SIGKILL)  # type: ignore[arg-type]
    process.join(timeout=30)
    assert process.exitcode == -signal.SIGKILL
    assert statuses(digests, members) == ["sending"] * 3  # all held by the dead worker

    # then after its lease the group is handed out again and sent once, by one worker
    assert digests.tick(DUE + timedelta(seconds=30)) == []
    again = digests.tick(DUE + timedelta(seconds=61))
    assert sorted(again) == sorted(members)
    outcomes = digests.deliver_each(again, DUE + timedelta(seconds=62))
    assert sorted(outcomes) == ["sent", "skipped", "skipped"]
    [mail] = digests.mailbox.messages()  # the held one was never accepted
    assert mail["Subject"] == "3 reminders"
    assert statuses(digests, members) == ["sent"] * 3
    assert {digests.detail(n).attempts for n in members} == {2}  # the killed one, this one
    [message_id] = {digests.message_ids(n)[-1] for n in members}
    assert message_id is not None and mail["Message-ID"] == mail_id(message_id)
