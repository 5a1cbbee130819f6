"""A contact import run by the real processes — the API, the scheduler (its tick relays
the import's message) and a worker — with the worker SIGKILLed in the middle of the
file: another worker resumes it, nobody is made twice, and the counts are exact."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from pcem.settings import Settings
from pcem.wiring import build_container
from tests.conftest import TokenFactory, serving
from tests.e2e.notification_helpers import BROKERS, broker_for, kill_tree, process
from tests.polling import wait_until

pytestmark = pytest.mark.slow

USER = "importing-user"
CARDS = 6000  # a few seconds of work: the kill lands mid-file


def vcards(count: int) -> bytes:
    cards = [
        f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:card-{n}\r\nN:Person{n};Friend;;;\r\n"
        f"FN:Friend Person{n}\r\nEMAIL;TYPE=INTERNET:friend{n}@example.org\r\n"
        f"BDAY:1990-{n % 12 + 1:02d}-{n % 28 + 1:02d}\r\nEND:VCARD\r\n"
        for n in range(count)
    ]
    return "".join(cards).encode()


@pytest.fixture(params=BROKERS)
def broker(request: pytest.FixtureRequest, isolated: Settings) -> str:
    return broker_for(request)


@pytest.fixture
def api(isolated: Settings) -> Iterator[tuple[httpx.Client, Any]]:
    container = build_container(isolated, pool_size=4)
    try:
        with serving(container) as url, httpx.Client(base_url=url, timeout=30) as client:
            yield client, container
    finally:
        container.close()


def test_a_worker_killed_mid_file_is_resumed_by_another_and_nobody_is_made_twice(
    isolated: Settings,
    broker: str,
    api: tuple[httpx.Client, Any],
    token_for: TokenFactory,
) -> None:
    client, container = api
    auth = {"Authorization": f"Bearer {token_for(USER)}"}
    env = {
        "PCEM_BROKER_URL": broker,
        "PCEM_SCHEDULER_TICK_SECONDS": "1",
        "PCEM_DELIVERY_LEASE_SECONDS": "3",  # a dead run's import is sent again after 3 s
    }
    with ExitStack() as stack:
        stack.enter_context(process(isolated, env, "scheduler"))
        first = stack.enter_context(process(isolated, env, "worker", "--concurrency", "1"))
        accepted = client.post(
            "/api/v1/imports", content=vcards(CARDS), headers={**auth, "Content-Type": "text/vcard"}
        )
        assert accepted.status_code == 202, accepted.text
        location = accepted.headers["Location"]
        seen: list[int] = []

        def state() -> dict[str, Any]:
            body: dict[str, Any] = client.get(location, headers=auth).json()
            seen.append(body["processed"])
            return body

        wait_until(lambda: state()["processed"] >= 100, timeout=120, what="the import to start")

        kill_tree(first)  # SIGKILL, mid-file
        at_kill = state()
        assert at_kill["status"] == "running" and at_kill["processed"] < CARDS
        stack.enter_context(process(isolated, env, "worker", "--concurrency", "1"))
        wait_until(lambda: state()["status"] == "done", timeout=180, what="the import to finish")

    done = state()
    assert len(set(seen)) > 1  # the counts moved while it ran
    assert (done["total"], done["processed"], done["created"]) == (CARDS, CARDS, CARDS)
    assert (done["updated"], done["unchanged"], done["skipped"], done["problems"]) == (0, 0, 0, [])
    with container.engine.connect() as conn:
        made = conn.execute(  # a database of this test's own: every person is the user's
            text(
                "SELECT count(*), count(DISTINCT originator_id) FROM pcem_events"
                " WHERE topic LIKE '%Person.Created'"
            )
        ).one()
        birthdays = conn.execute(
            text("SELECT count(*) FROM pcem_events WHERE topic LIKE '%CalendarEvent.Created'")
        ).scalar_one()
    assert tuple(made) == (CARDS, CARDS)  # each person once
    assert birthdays == CARDS  # and each birthday once
