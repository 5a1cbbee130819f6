"""A user's writes are visible to their next query on any API replica, without sleeping."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing

import pytest
import redis
from litestar.testing import TestClient
from redis.client import Monitor

from pcem.api.app import create_app
from pcem.api.read_your_writes import position_key
from pcem.settings import Settings
from pcem.wiring import build_container
from tests.conftest import settings_for
from tests.integration.api_helpers import PEOPLE, Client
from tests.private_servers import PrivateRedis


@pytest.fixture
def other_replica(settings: Settings, projector: None) -> Iterator[Client]:
    """A second API process's worth of state: its own pools, same database and Redis."""
    container = build_container(settings, pool_size=3)
    with TestClient(create_app(container)) as replica:
        yield replica


def test_write_on_one_replica_is_read_on_another_at_once(
    client: Client, other_replica: Client, auth: dict[str, str]
) -> None:
    for i in range(20):
        created = client.post(PEOPLE, json={"first_name": f"P{i}"}, headers=auth).json()
        changed = client.patch(
            f"{PEOPLE}/{created['id']}", json={"last_name": f"L{i}"}, headers=auth
        ).json()

        seen = other_replica.get(f"{PEOPLE}/{created['id']}", headers=auth)

        assert seen.status_code == 200
        assert seen.json() == changed
    assert len(other_replica.get(PEOPLE, headers=auth).json()["items"]) == 20


def test_another_clients_position_can_be_awaited_explicitly(
    client: Client, other_replica: Client, auth: dict[str, str]
) -> None:
    created = client.post(PEOPLE, json={"first_name": "Ada"}, headers=auth)
    position = created.headers["pcem-position"]

    seen = other_replica.get(
        f"{PEOPLE}/{created.json()['id']}", headers={**auth, "PCEM-Min-Position": position}
    )

    assert seen.status_code == 200


def test_a_query_pays_redis_one_round_trip_that_counts_it_and_reads_the_last_write(
    settings: Settings, projector: None, auth: dict[str, str], user_id: str
) -> None:
    redis_server = PrivateRedis()
    container = build_container(settings_for(settings.require_database().url, redis_server.url))
    container.read_wait_seconds = 0.3
    with closing(redis_server), TestClient(create_app(container)) as api:
        assert api.post(PEOPLE, json={"first_name": "Ada"}, headers=auth).status_code == 201
        server = redis.Redis.from_url(redis_server.url)
        with server.monitor() as monitor:
            for _ in range(5):
                assert api.get(PEOPLE, headers=auth).status_code == 200
            sent = _sent_until_echo(monitor, server)
        server.set(position_key(user_id), 2**62)  # a write the projections never reach
        behind = api.get(PEOPLE, headers=auth)

    assert [command.split()[0] for command in sent] == ["EVALSHA"] * 5, sent
    assert behind.status_code == 503, behind.text
    assert "have not reached position 4611686018427387904" in behind.json()["detail"]


def _sent_until_echo(monitor: Monitor, server: redis.Redis[bytes]) -> list[str]:
    """The commands clients sent until an ``ECHO`` of ours: not those scripts ran, nor
    the handshakes of new connections (the echo's own)."""
    server.echo("end of the queries")
    sent = []
    while not (command := monitor.next_command())["command"].startswith("ECHO"):
        if command["client_type"] != "lua" and not command["command"].startswith(_HANDSHAKE):
            sent.append(command["command"])
    return sent


_HANDSHAKE = ("HELLO", "SELECT", "CLIENT")
