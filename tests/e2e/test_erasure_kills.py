"""`pcem projector` SIGKILLed while people are being purged, and started again: the
read models equal a fresh rebuild, and the follower completes every purge."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from datetime import timedelta
from uuid import UUID

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text

from pcem.cli.tokens import mint_token
from pcem.settings import Settings
from tests.conftest import settings_for
from tests.integration.erasure_helpers import live_keys
from tests.integration.ledger_helpers import Ledger
from tests.polling import wait_until
from tests.reliability import pcem_running, verify_read_models
from tests.servers import PostgresServer, RedisServer

pytestmark = pytest.mark.slow

PEOPLE = 40
USER = "purging-user"


@pytest.fixture
def settings(postgres: PostgresServer, redis_server: RedisServer) -> Iterator[Settings]:
    with postgres.fresh_database() as url:
        yield settings_for(url, redis_server.url)


def test_a_projector_killed_while_people_are_purged_converges_when_started_again(
    settings: Settings,
) -> None:
    auth = {"Authorization": f"Bearer {mint_token(settings.jwt, USER, ttl=timedelta(hours=1))}"}
    with pcem_running(settings) as pcem, httpx.Client(base_url=pcem.url, timeout=30) as http:
        engine = create_engine(settings.require_database().sqlalchemy_url)
        ids = [_person_with_a_date(http, auth, number) for number in range(PEOPLE)]
        for person_id in ids:
            _sent_notification(engine, person_id)

        for number, person_id in enumerate(ids):
            if number == PEOPLE // 2:  # halfway: the projector dies mid-batch
                pcem.projector.send_signal(signal.SIGKILL)
                pcem.projector.wait(timeout=10)
            purged = http.post(f"/api/v1/people/{person_id}/purge", headers=auth)
            assert purged.status_code == 204, purged.text
            if number == PEOPLE // 2 + 5:
                pcem.start_projector()

        wait_until(lambda: _unfinished(engine) == 0, 60, "the follower to complete each purge")
        assert live_keys(engine, USER) == set()
        verify_read_models(settings)
        with engine.connect() as conn:
            left = conn.execute(text("SELECT count(*) FROM people WHERE user_id = :u"), {"u": USER})
            assert left.scalar_one() == 0
        engine.dispose()


def _person_with_a_date(http: httpx.Client, auth: dict[str, str], number: int) -> str:
    person = http.post("/api/v1/people", json={"first_name": f"Ada{number}"}, headers=auth)
    assert person.status_code == 201, person.text
    person_id = str(person.json()["id"])
    body = {
        "person_id": person_id,
        "title": "Birthday",
        "event_date": "1990-06-01",
        "is_special_event": True,
        "recurrence": "yearly",
    }
    assert http.post("/api/v1/events", json=body, headers=auth).status_code == 201
    return person_id


def _sent_notification(engine: Engine, person_id: str) -> None:
    Ledger(engine).add(USER, person_id=UUID(person_id))


def _unfinished(engine: Engine) -> int:
    with engine.connect() as conn:
        statement = text(
            "SELECT count(*) FROM notifications WHERE user_id = :u AND erased_at IS NULL"
        )
        return int(conn.execute(statement, {"u": USER}).scalar_one())
