"""PostgreSQL stopped and started again under load, with real `pcem api` and
`pcem projector` processes: 503s while it is down, never a hang or a 500,
recovery without restarting PCEM, and nothing acknowledged lost."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from pcem.settings import Settings
from tests.e2e.fault_fixtures import (
    BOUNDED_ANSWER_SECONDS,
    private_postgres,
    settings_on,
    tokens_for,
)
from tests.load import Load
from tests.polling import wait_until
from tests.private_servers import PrivatePostgres
from tests.reliability import assert_nothing_lost, pcem_running
from tests.servers import RedisServer

pytestmark = pytest.mark.slow

CLIENTS = 8


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    yield from private_postgres()


@pytest.fixture
def settings(postgres: PrivatePostgres, redis_server: RedisServer) -> Settings:
    return settings_on(postgres, redis_server.url)


def readiness(url: str) -> tuple[int, dict[str, object]]:
    response = httpx.get(f"{url}/health/ready", timeout=BOUNDED_ANSWER_SECONDS)
    return response.status_code, response.json()


def answered(load: Load, status: str) -> int:
    with load.outcome.lock:
        return sum(n for key, n in load.outcome.statuses.items() if key.endswith(f" {status}"))


def acknowledged(load: Load) -> int:
    with load.outcome.lock:
        return len(load.outcome.acknowledged)


def outage(postgres: PrivatePostgres, load: Load, url: str, mode: str) -> None:
    """Stop PostgreSQL (``mode``) until the load has had its 503s, then start it
    again and wait until commands succeed again."""
    postgres.stop(mode)
    seen = answered(load, "503")
    wait_until(lambda: answered(load, "503") >= seen + 15, 30, "503s while PostgreSQL is down")
    status, body = readiness(url)
    assert status == 503 and body["database"] == "down"

    postgres.start()
    before = acknowledged(load)
    wait_until(lambda: acknowledged(load) >= before + 20, 60, "commands to succeed again")
    assert readiness(url)[0] == 200


def test_postgres_stopped_under_load_means_503s_then_recovery_and_nothing_lost(
    postgres: PrivatePostgres, settings: Settings
) -> None:
    with pcem_running(settings) as pcem:
        load = Load(pcem.url, tokens_for(settings, 50), CLIENTS, seed=12).start()
        try:
            wait_until(lambda: acknowledged(load) >= 30, 60, "commands to succeed")
            outage(postgres, load, pcem.url, "fast")  # pg_ctl stop: backends told to end
            outage(postgres, load, pcem.url, "immediate")  # as in a crash
        finally:
            outcome = load.stop()

        assert outcome.server_errors(allowed=frozenset({"503"})) == {}, outcome.statuses
        assert outcome.slowest < BOUNDED_ANSWER_SECONDS, outcome.slowest
        assert_nothing_lost(settings, outcome)
