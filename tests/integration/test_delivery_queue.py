"""The tick counts the delivery messages the broker holds, on Redis and RabbitMQ: a
hand-out still queued behind a deep backlog is not handed out again (the ledger's
lost hand-outs, ``pcem.notifications.ledger``)."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import pytest

from pcem.processors.tasks import DELIVER, DELIVERY_QUEUE, ProcessManager, create_celery
from pcem.settings import Settings
from pcem.wiring import build_container
from tests.conftest import settings_for
from tests.e2e.notification_helpers import BROKERS, broker_for


@pytest.fixture(params=BROKERS)
def manager(request: pytest.FixtureRequest, isolated: Settings) -> Iterator[ProcessManager]:
    broker = broker_for(request)
    settings = settings_for(
        isolated.require_database().url, isolated.require_redis().url, PCEM_BROKER_URL=broker
    )
    app = create_celery(settings)
    with app.connection_for_write() as conn:
        conn.default_channel.queue_declare(queue=DELIVERY_QUEUE, durable=True, auto_delete=False)
    yield ProcessManager(build_container(settings, role="worker"), app)
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(DELIVERY_QUEUE)
    app.close()


def test_the_delivery_messages_nobody_took_yet_are_counted(manager: ProcessManager) -> None:
    # given
    assert manager.queued_deliveries() == 0
    # when
    for _ in range(3):
        manager.celery.send_task(DELIVER, args=[str(uuid4())], queue=DELIVERY_QUEUE)
    # then
    assert manager.queued_deliveries() == 3
