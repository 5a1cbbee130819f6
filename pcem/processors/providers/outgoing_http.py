"""Outgoing HTTP (webhooks, the SMS API) over the pool every user's deliveries share
(``Container.http``), and what its providers agree on about failures.

urllib3 rather than httpx: a webhook POST is the largest part of a delivery's CPU
in the worker, and through httpx it took about twice what it takes through
urllib3 (docs/performance.md, "Notifications"). The pool never follows a redirect
(a 3xx is the answer), never retries (the ledger does) and keeps no cookies, so
one receiver's cookie cannot reach another user's receiver on the same host.
"""

from __future__ import annotations

from collections.abc import Mapping

import urllib3
from urllib3.exceptions import HTTPError, LocationValueError

from pcem.processors.providers.base import DeliveryFailed, described

USER_AGENT = "pcem"
# 4xx answers that mean "not now" rather than "never".
_TRANSIENT = frozenset({408, 425, 429})
MAX_DRAINED_BYTES = 64 * 1024
Failure = HTTPError  # what a request that got no answer raises


def post(
    pool: urllib3.PoolManager, url: str, body: bytes, headers: Mapping[str, str], timeout: float
) -> tuple[int, bytes]:
    """POST ``body`` to ``url``: the answer's status and at most its first 64 KiB. A
    short answer is read whole, so its connection goes back to the pool for the next
    delivery; a long one is cut off and its connection closed, never buffered.
    Raises ``Failure`` when no answer came."""
    response = pool.request(
        "POST", url, body=body, headers={"User-Agent": USER_AGENT, **headers},
        timeout=urllib3.Timeout(connect=timeout, read=timeout), redirect=False,
        preload_content=False,
    )  # fmt: skip
    try:
        answer = response.read(MAX_DRAINED_BYTES + 1, decode_content=False)
        if len(answer) > MAX_DRAINED_BYTES:  # more is coming: not worth the wait
            response.close()
    finally:
        response.release_conn()
    return response.status, answer[:MAX_DRAINED_BYTES]


def retryable_status(status: int) -> bool:
    return status >= 500 or status in _TRANSIENT


def transport_failure(error: HTTPError, what: str, *secrets: str | None) -> DeliveryFailed:
    """A request that got no answer: worth retrying unless the request itself is wrong
    (a URL that cannot be one)."""
    retryable = not isinstance(error, LocationValueError)
    return DeliveryFailed(f"{what}: {described(error, *secrets)}", retryable=retryable)
