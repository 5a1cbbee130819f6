"""What operators watch of notifications: ``overdue_notifications`` in ``/health/ready``
and the delivery figures of ``/metrics``, counted from the ledger.

On a database of its own, so the counts are exactly this test's rows.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from litestar.testing import TestClient
from sqlalchemy import text

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


def test_metrics_show_deliveries_latency_and_the_outbox(ops: tuple[Client, Container]) -> None:
    # given a webhook sent 30 s late at its second attempt, an email sent at once, and one
    # message for the broker not yet relayed
    client, container = ops
    ledger = Ledger(container.engine)
    due = now() - timedelta(hours=1)
    webhook = ledger.add("u1", channel="webhook", due_at=due, sent_at=due + timedelta(seconds=30))
    ledger.attempt(webhook, 1, due, "retry", "HTTP 503")
    ledger.attempt(webhook, 2, due + timedelta(seconds=30), "sent", None)
    email = ledger.add("u1", channel="email", due_at=due)
    ledger.attempt(email, 1, due, "sent", None)
    with container.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO outbox (task, subject_id) VALUES ('pcem.deliver', :id)"),
            {"id": uuid.uuid4()},
        )

    # when
    metrics = client.get("/metrics").text

    # then
    deliveries = 'pcem_notification_deliveries_total{{channel="{}",outcome="{}"}} {}'
    assert deliveries.format("webhook", "retry", "1.0") in metrics
    assert deliveries.format("webhook", "sent", "1.0") in metrics
    assert deliveries.format("email", "sent", "1.0") in metrics
    assert "# TYPE pcem_notification_due_to_sent_seconds histogram" in metrics
    latency = 'pcem_notification_due_to_sent_seconds_bucket{{channel="webhook",le="{}"}} {}'
    assert latency.format("15.0", "0.0") in metrics
    assert latency.format("30.0", "1.0") in metrics
    assert latency.format("+Inf", "1.0") in metrics
    assert 'pcem_notification_due_to_sent_seconds_sum{channel="webhook"} 30.0' in metrics
    assert 'pcem_notification_due_to_sent_seconds_count{channel="email"} 1.0' in metrics
    assert "pcem_outbox_depth 1.0" in metrics
    assert re.search(r'pcem_queue_depth\{queue="delivery"\} \d', metrics)
    assert "pcem_notification_streams_open 0.0" in metrics


def test_metrics_still_answer_without_the_database(isolated: Settings) -> None:
    unreachable = f"postgresql://postgres@127.0.0.1:{free_port()}/none?connect_timeout=2"
    settings = settings_for(unreachable, isolated.require_redis().url)
    with TestClient(create_app(build_container(settings, pool_size=2))) as client:
        response = client.get("/metrics")

    assert response.status_code == 200
    assert "pcem_notification_deliveries_total" not in response.text
    assert "pcem_queue_depth" in response.text
