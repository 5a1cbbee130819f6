"""Delivery providers: one per channel (email, SMS, webhook, in-app), one interface.

The worker looks a user's channel up by its ``type`` in :func:`providers_for`'s
answer and calls ``send(message, channel)``; see :mod:`.base` for the contract.
"""

from pcem.processors.providers.base import (
    ChannelConfig,
    Delivered,
    DeliveryFailed,
    Message,
    Provider,
)
from pcem.processors.providers.registry import providers_for

__all__ = [
    "ChannelConfig",
    "Delivered",
    "DeliveryFailed",
    "Message",
    "Provider",
    "providers_for",
]
