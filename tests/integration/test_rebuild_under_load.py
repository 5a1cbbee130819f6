"""While a rebuild runs and swaps, the API keeps answering, and answering right."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pcem.settings import Settings
from pcem.wiring import build_container
from tests.conftest import TokenFactory, projector_running, serving
from tests.integration.api_helpers import bearer
from tests.integration.projection_helpers import Database
from tests.polling import wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def service(isolated: Settings) -> Iterator[str]:
    """A whole PCEM (API, projector with its rebuild worker) on a database of its own."""
    database = Database(isolated)
    database.write_people("bulk", 10_000, batch=500)  # enough for the rebuild to take a while
    database.close()
    container = build_container(isolated)
    with projector_running(container), serving(container) as url:
        yield url
    container.close()


class Loop(threading.Thread):
    """Calls ``step`` until stopped; keeps what went wrong."""

    failures: list[str]

    def __init__(self, step: Any) -> None:
        super().__init__(daemon=True)
        self.step, self.stopped, self.rounds, self.failures = step, threading.Event(), 0, []

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.step()
            except AssertionError as failure:
                self.failures.append(str(failure))
            self.rounds += 1


def test_the_api_answers_correctly_throughout_a_rebuild(
    service: str, token_for: TokenFactory
) -> None:
    api = httpx.Client(base_url=service, timeout=10)
    reader, writer = bearer(token_for("reader")), bearer(token_for("writer"))
    operator = bearer(token_for("ops", "operator"))
    # The projector starts behind the bulk: on a slow machine, longer than a read waits
    # for its writer's own writes (then 503).
    wait_until(lambda: caught_up(api, operator), 120, "the projector to catch up")
    for name in ("Ada", "Grace", "Alan"):
        assert api.post("/api/v1/people", json={"first_name": name}, headers=reader).is_success
    listed = api.get("/api/v1/people", headers=reader)
    assert listed.status_code == 200, listed.text
    expected = listed.json()

    def read() -> None:
        response = api.get("/api/v1/people", headers=reader)
        assert response.status_code == 200 and response.json() == expected, response.text

    def write_then_read() -> None:
        created = api.post("/api/v1/people", json={"first_name": "New"}, headers=writer)
        assert created.status_code == 201, created.text
        again = api.get(f"/api/v1/people/{created.json()['id']}", headers=writer)
        assert again.status_code == 200 and again.json() == created.json(), again.text

    loops = [Loop(read), Loop(write_then_read)]
    for loop in loops:
        loop.start()
    accepted = api.post("/api/v1/admin/projections/people/rebuild", headers=operator)
    assert accepted.status_code == 202
    wait_until(lambda: rebuilding(api, operator), 30, "the rebuild to start")
    wait_until(lambda: not rebuilding(api, operator), 240, "the rebuild to finish")
    for loop in loops:
        loop.stopped.set()
        loop.join(timeout=30)

    assert [loop.failures for loop in loops] == [[], []]
    assert min(loop.rounds for loop in loops) > 10


def projections(api: httpx.Client, operator: dict[str, str]) -> dict[str, Any]:
    return {p["name"]: p for p in api.get("/api/v1/admin/projections", headers=operator).json()}


def caught_up(api: httpx.Client, operator: dict[str, str]) -> bool:
    return bool(projections(api, operator)["people_and_dates"]["lag"] == 0)


def rebuilding(api: httpx.Client, operator: dict[str, str]) -> bool:
    state = projections(api, operator).get("people_and_dates@rebuild", {}).get("state")
    return bool(state == "rebuilding")
