"""The in-app provider publishes to the user's Redis channel (the real Redis)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from pcem.notifications.in_app import inbox_channel
from pcem.processors.providers import DeliveryFailed
from pcem.processors.providers.in_app import InAppProvider
from tests.integration.delivery_helpers import notification_message
from tests.integration.receivers import free_port
from tests.servers import RedisServer

IN_APP = {"type": "in_app"}


@pytest.fixture
def client(redis_server: RedisServer) -> Iterator[redis.Redis[bytes]]:
    client = redis.Redis.from_url(redis_server.url)
    yield client
    client.close()


def listening(client: redis.Redis[bytes], user_id: str) -> Any:
    """A subscription that Redis has confirmed, so nothing published after is missed."""
    pubsub = client.pubsub()
    pubsub.subscribe(inbox_channel(user_id))
    confirmation = pubsub.get_message(timeout=2)
    assert confirmation is not None and confirmation["type"] == "subscribe"
    return pubsub


def test_the_notification_arrives_on_the_users_channel(
    client: redis.Redis[bytes], user_id: str
) -> None:
    # given
    stream = listening(client, user_id)
    message = notification_message(user_id=user_id, channel="in_app")

    # when
    delivered = InAppProvider(client).send(message, IN_APP)

    # then
    received = stream.get_message(timeout=2)
    assert received["channel"] == f"pcem:notifications:{user_id}".encode()
    assert json.loads(received["data"]) == message.payload
    assert delivered.detail == "published to 1 open stream(s)"
    stream.close()


def test_another_users_stream_hears_nothing(client: redis.Redis[bytes], user_id: str) -> None:
    someone_else = listening(client, f"{user_id}-other")

    InAppProvider(client).send(notification_message(user_id=user_id), IN_APP)

    assert someone_else.get_message(timeout=0.3) is None
    someone_else.close()


def test_redis_down_is_retried() -> None:
    unreachable = redis.Redis(
        host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
    )

    with pytest.raises(DeliveryFailed) as failure:
        InAppProvider(unreachable).send(notification_message(), IN_APP)

    assert failure.value.retryable
    assert failure.value.reason.startswith("could not publish to Redis: ConnectionError")
