"""`pcem projector` SIGKILLed at random points (seeded) of a loaded run, and
started again: no event skipped or applied twice, the read models equal a
fresh rebuild, and the API never fails."""

from __future__ import annotations

import random
import signal
from collections.abc import Iterator

import pytest

from pcem.settings import Settings
from tests.conftest import settings_for
from tests.e2e.fault_fixtures import BOUNDED_ANSWER_SECONDS, tokens_for
from tests.load import Load
from tests.polling import wait_until
from tests.reliability import assert_nothing_lost, pcem_running
from tests.servers import PostgresServer, RedisServer

pytestmark = pytest.mark.slow

CLIENTS = 8
KILLS = 3
SEED = 20260


@pytest.fixture
def settings(postgres: PostgresServer, redis_server: RedisServer) -> Iterator[Settings]:
    with postgres.fresh_database() as url:
        yield settings_for(url, redis_server.url)


def test_projector_killed_at_random_points_of_a_loaded_run_skips_and_repeats_nothing(
    settings: Settings,
) -> None:
    rng = random.Random(SEED)
    with pcem_running(settings) as pcem:
        load = Load(pcem.url, tokens_for(settings, 50), CLIENTS, seed=SEED).start()
        try:
            for _ in range(KILLS):
                at = load.requests() + rng.randint(20, 150)  # a random point of the run
                wait_until(lambda: load.requests() >= at, 60, "the load to go on")  # noqa: B023
                pcem.projector.send_signal(signal.SIGKILL)
                pcem.projector.wait(timeout=10)
                pcem.start_projector()
            wait_until(lambda: load.requests() >= at + 50, 60, "reads after the last restart")
        finally:
            outcome = load.stop()

        # Reads that waited for a dead projector may answer 503 after 5 s (documented);
        # nothing else fails.
        assert outcome.server_errors(allowed=frozenset({"503"})) == {}, outcome.statuses
        assert outcome.slowest < BOUNDED_ANSWER_SECONDS, outcome.slowest
        assert_nothing_lost(settings, outcome)
