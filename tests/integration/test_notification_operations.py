"""What operators watch of notifications: ``overdue_notifications`` in ``/health/ready``,
counted from the ledger.

On a database of its own, so the counts are exactly this test's rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from litestar.testing import TestClient

from pcem.api.app import create_app
from pcem.settings import Settings
from pcem.wiring import Container, build_container
from tests.conftest import settings_for
from tests.integration.api_helpers import Client
from tests.integration.ledger_helpers import Ledger, now
from tests.integration.receivers import free_port


@pytest.fixture
def ops(isolated: Settings) -> Iterator[tuple[Client, Container]]:
    container = build_container(isolated, pool_size=2)
    with TestClient(create_app(container)) as client:
        yield client, container


def test_readiness_counts_notifications_overdue_by_more_than_five_minutes(
    ops: tuple[Client, Container],
) -> None:
    # given
    client, container = ops
    ledger = Ledger(container.engine)
    ago = now() - timedelta(minutes=10)
    ledger.add("u1", status="scheduled", due_at=ago)  # the workers are behind
    ledger.add("u1", status="sending", due_at=ago, lease_until=now() + timedelta(minutes=1))
    ledger.add("u1", status="scheduled", due_at=now() - timedelta(minutes=1))  # not yet overdue
    ledger.add("u1", status="sent", due_at=ago)
    ledger.add("u1", status="failed", due_at=ago)

    # when
    response = client.get("/health/ready")

    # then
    assert response.status_code == 200
    body = response.json()
    assert body["overdue_notifications"] == 2
    assert (body["database"], body["redis"]) == ("ok", "ok")


def test_readiness_without_the_database_is_503_and_counts_nothing(isolated: Settings) -> None:
    unreachable = f"postgresql://postgres@127.0.0.1:{free_port()}/none?connect_timeout=2"
    settings = settings_for(unreachable, isolated.require_redis().url)
    with TestClient(create_app(build_container(settings, pool_size=2))) as client:
        response = client.get("/health/ready")

    assert response.status_code == 503
    body = response.json()
    assert (body["database"], body["redis"]) == ("down", "ok")
    assert body["projections"] == {} and body["overdue_notifications"] is None
