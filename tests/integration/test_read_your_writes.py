"""A user's writes are visible to their next query on any API replica, without sleeping."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from pcem.api.app import create_app
from pcem.settings import Settings
from pcem.wiring import build_container
from tests.integration.api_helpers import PEOPLE, Client


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
