"""What the HTTP providers (webhook, SMS) agree on about failures."""

from __future__ import annotations

import httpx

from pcem.processors.providers.base import DeliveryFailed, described

# 4xx answers that mean "not now" rather than "never".
_TRANSIENT = frozenset({408, 425, 429})


def retryable_status(status: int) -> bool:
    return status >= 500 or status in _TRANSIENT


def transport_failure(
    error: httpx.HTTPError | httpx.InvalidURL, what: str, *secrets: str | None
) -> DeliveryFailed:
    """A request that got no answer: worth retrying unless the request itself is wrong."""
    wrong_request = isinstance(error, httpx.UnsupportedProtocol | httpx.LocalProtocolError)
    retryable = isinstance(error, httpx.TransportError) and not wrong_request
    return DeliveryFailed(f"{what}: {described(error, *secrets)}", retryable=retryable)
