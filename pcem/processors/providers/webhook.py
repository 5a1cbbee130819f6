"""Webhooks: a JSON POST signed per Standard Webhooks, by the ``standardwebhooks`` package.

``webhook-id`` is the notification id on every attempt, so a receiver can tell a
retry from a new notification; ``webhook-timestamp`` is the attempt's own time
(receivers refuse signatures older than five minutes). The body is the Standard
Webhooks envelope ``{"type", "timestamp", "data"}``: ``data`` is the Notification
as ``GET /notifications/{id}`` shows it once this attempt delivered it (``sent``,
its ``sent_at`` and ``attempts`` this attempt's: ``pcem.processors.delivery``), and
``timestamp`` its ``due_at``, the same on every attempt.

The secret is the one the user saved with the channel. A Standard Webhooks
secret (``whsec_`` and base64) is used as the library reads it, so a receiver
verifies with ``Webhook(secret)``; any other secret's UTF-8 bytes are the key
(receivers: ``Webhook(secret.encode())``), since the library would otherwise
base64-decode an arbitrary string leniently into some other key.

Redirects are not followed (a 3xx fails for good: the receiver must be given the
URL it answers on). The answer's body is dropped (``outgoing_http.post``).
"""

from __future__ import annotations

from datetime import UTC, datetime

import urllib3
from standardwebhooks import Webhook
from standardwebhooks.webhooks import EmptyWebhookSecretError

from pcem.processors.providers.base import (
    ChannelConfig,
    Delivered,
    DeliveryFailed,
    Message,
    encoded_payload,
)
from pcem.processors.providers.outgoing_http import (
    Failure,
    post,
    retryable_status,
    transport_failure,
)
from pcem.settings import WebhookSettings

EVENT_TYPE = "notification.due"
STANDARD_SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)


class WebhookProvider:
    channel = "webhook"

    def __init__(self, settings: WebhookSettings, http: urllib3.PoolManager) -> None:
        self.settings = settings
        self.http = http

    def send(self, message: Message, channel: ChannelConfig) -> Delivered:
        body = self.body(message)
        headers = signed_headers(str(message.notification_id), body, signer(channel["secret"]))
        headers["Content-Type"] = "application/json"
        timeout = self.settings.timeout_seconds
        try:
            status, _ = post(self.http, channel["url"], body, headers, timeout)
        except Failure as error:
            raise transport_failure(error, "the webhook receiver did not answer") from None
        if 200 <= status < 300:
            return Delivered(f"HTTP {status}")
        raise refused(status)

    @staticmethod
    def body(message: Message) -> bytes:
        return encoded_payload(
            {"type": EVENT_TYPE, "timestamp": message.payload["due_at"], "data": message.payload}
        )


def signed_headers(webhook_id: str, body: bytes, webhook: Webhook) -> dict[str, str]:
    now = datetime.now(UTC)
    signature = webhook.sign(msg_id=webhook_id, timestamp=now, data=body.decode())
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }


def signer(secret: str) -> Webhook:
    if not secret.startswith(STANDARD_SECRET_PREFIX):
        return Webhook(secret.encode())
    try:
        return Webhook(secret)
    except (ValueError, EmptyWebhookSecretError):  # binascii.Error is a ValueError
        reason = "the webhook secret starts with whsec_ but is not base64 (see the settings)"
        raise DeliveryFailed(reason, retryable=False) from None


def refused(status: int) -> DeliveryFailed:
    if status == 410:
        reason = "the receiver says the endpoint is gone (HTTP 410)"
    elif 300 <= status < 400:
        reason = f"the receiver answered a redirect (HTTP {status}); redirects are not followed"
    else:
        reason = f"the webhook receiver answered HTTP {status}"
    return DeliveryFailed(reason, retryable=retryable_status(status))
