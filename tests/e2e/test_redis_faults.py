"""Redis stopped and started again under load, with real `pcem api` and `pcem
projector` processes: commands keep succeeding, read-your-writes falls back to
`PCEM-Min-Position` alone (docs/api-decisions.md), and it all comes back
without restarting PCEM."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import redis

from pcem.settings import Settings
from tests.conftest import settings_for
from tests.e2e.fault_fixtures import BOUNDED_ANSWER_SECONDS, tokens_for
from tests.load import PEOPLE, Load
from tests.polling import wait_until
from tests.private_servers import PrivateRedis
from tests.reliability import assert_nothing_lost, pcem_running
from tests.servers import PostgresServer

pytestmark = pytest.mark.slow

CLIENTS = 8


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    yield server
    server.close()


@pytest.fixture
def settings(postgres: PostgresServer, private_redis: PrivateRedis) -> Iterator[Settings]:
    with postgres.fresh_database() as url:
        yield settings_for(url, private_redis.url)


def acknowledged(load: Load) -> int:
    with load.outcome.lock:
        return len(load.outcome.acknowledged)


def create_and_read(url: str, token: str, *, min_position: bool) -> tuple[int, str]:
    """A new person, then a read of them (with the create's position, if asked):
    the read's status, and the user's position as Redis remembers it."""
    auth = {"Authorization": f"Bearer {token}"}
    created = httpx.post(f"{url}{PEOPLE}", json={"first_name": "Zoë"}, headers=auth, timeout=10)
    assert created.status_code == 201, created.text
    headers = (
        {**auth, "PCEM-Min-Position": created.headers["pcem-position"]} if min_position else auth
    )
    read = httpx.get(f"{url}{PEOPLE}/{created.json()['id']}", headers=headers, timeout=10)
    return read.status_code, created.headers["pcem-position"]


def test_redis_stopped_under_load_degrades_read_your_writes_and_loses_nothing(
    settings: Settings, private_redis: PrivateRedis
) -> None:
    tokens = tokens_for(settings, 51)
    probe_user, probe = tokens.popitem()  # a user the load never writes as: its last
    with pcem_running(settings) as pcem:  # position is the probe's own
        load = Load(pcem.url, tokens, CLIENTS, seed=6).start()
        try:
            wait_until(lambda: acknowledged(load) >= 30, 60, "commands to succeed")

            private_redis.stop()
            during = acknowledged(load)
            wait_until(lambda: acknowledged(load) >= during + 60, 60, "commands without Redis")
            ready = httpx.get(f"{pcem.url}/health/ready", timeout=BOUNDED_ANSWER_SECONDS)
            assert ready.status_code == 503 and ready.json()["redis"] == "down"
            # The documented fallback: the client's PCEM-Min-Position still holds.
            assert create_and_read(pcem.url, probe, min_position=True)[0] == 200

            private_redis.start()
            after = acknowledged(load)
            wait_until(lambda: acknowledged(load) >= after + 30, 60, "commands after Redis")
            wait_until(
                lambda: httpx.get(f"{pcem.url}/health/ready", timeout=5).status_code == 200,
                30, "readiness after Redis",
            )  # fmt: skip
            # Remembered again: a read without the header waits for the write.
            status, position = create_and_read(pcem.url, probe, min_position=False)
            remembered = redis.Redis.from_url(private_redis.url).get(f"pcem:ryw:{probe_user}")
            assert status == 200 and remembered == position.encode()
        finally:
            outcome = load.stop()
        # While the projector still runs: the read models catch up, then are verified.
        assert outcome.server_errors() == {}, outcome.statuses  # not even a 503
        assert outcome.slowest < BOUNDED_ANSWER_SECONDS, outcome.slowest
        assert_nothing_lost(settings, outcome)
