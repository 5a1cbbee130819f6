"""In-app: the notification row is the inbox; this only says "one was just sent".

It publishes the Notification JSON on the user's Redis pub/sub channel, which
every API replica's stream (``GET /api/v1/notifications/stream``) can subscribe
to. Pub/sub keeps nothing: a stream that was not listening catches up from the
notification rows (``Last-Event-ID``), not from here.
"""

from __future__ import annotations

import redis

from pcem.notifications.in_app import inbox_channel
from pcem.processors.providers.base import (
    ChannelConfig,
    Delivered,
    DeliveryFailed,
    Message,
    described,
    encoded_payload,
)


class InAppProvider:
    channel = "in_app"

    def __init__(self, client: redis.Redis[bytes]) -> None:
        self.client = client

    def send(self, message: Message, channel: ChannelConfig) -> Delivered:
        try:
            listeners = self.client.publish(
                inbox_channel(message.user_id), encoded_payload(message.payload)
            )
        except redis.RedisError as error:
            reason = f"could not publish to Redis: {described(error)}"
            raise DeliveryFailed(reason, retryable=True) from None
        return Delivered(f"published to {listeners} open stream(s)")
