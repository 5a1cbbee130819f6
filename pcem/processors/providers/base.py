"""The one interface every delivery channel implements.

A provider sends one message over one user's channel and either returns
:class:`Delivered` or raises :class:`DeliveryFailed`, saying whether trying again
could help. It never retries by itself, never sleeps and keeps no state between
sends: retries are the worker's, driven from the database. The same message may
be sent again after a crash, so each provider passes on an id that is stable
across attempts (the notification's, or its digest's) wherever its channel has one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

import msgspec

# A channel as the user's settings hold it, e.g. {"type": "email", "address": "…"}
# (pcem.aggregates.settings.CHANNEL_FIELDS).
ChannelConfig = Mapping[str, str]


@dataclass(frozen=True)
class Message:
    """One notification, or a digest of several (email and SMS only), worded, ready
    for any channel."""

    notification_id: UUID  # the message's id: the notification's, or the digest's
    user_id: str
    subject: str  # a subject line or title
    text: str  # plain text: an email's text part, an SMS
    html: str  # an email's HTML alternative
    payload: Mapping[str, Any]  # the Notification of API.md, as JSON: webhooks, in-app


@dataclass(frozen=True)
class Delivered:
    detail: str  # for the attempt log, e.g. "HTTP 204" or "accepted by the SMTP server"
    reference: str | None = None  # the receiving side's id for it, when it gives one


class DeliveryFailed(Exception):
    """A send did not happen; ``reason`` is safe to store and show (no secrets)."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class Provider(Protocol):
    channel: str  # the channel's "type" in the user's settings

    def send(self, message: Message, channel: ChannelConfig) -> Delivered:
        """Deliver ``message`` to ``channel`` or raise :class:`DeliveryFailed`."""
        ...


class Unconfigured:
    """The provider of a channel this server has not been set up for."""

    def __init__(self, channel: str, variable: str) -> None:
        self.channel = channel
        self._reason = f"{channel} delivery is not configured on this server ({variable})"

    def send(self, message: Message, channel: ChannelConfig) -> Delivered:
        # Not retryable: it waits in the failed set until an operator configures it.
        raise DeliveryFailed(self._reason, retryable=False)


REDACTED = "[redacted]"


def without_secrets(text: str, *secrets: str | None) -> str:
    """``text`` (e.g. a server's answer) with every given secret cut out."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def described(error: BaseException, *secrets: str | None) -> str:
    """An exception as a short reason: its type and message, secrets removed."""
    message = str(error).strip()
    text = f"{type(error).__name__}: {message}" if message else type(error).__name__
    return without_secrets(text, *secrets)[:300]  # cut after redacting: no half secret


def encoded_payload(payload: Mapping[str, Any]) -> bytes:
    """JSON, compact; UUIDs and datetimes as API.md writes them (msgspec's encoding)."""
    return msgspec.json.encode(payload)
