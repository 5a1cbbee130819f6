"""The webhook provider against a real local receiver that verifies as receivers do."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import urllib3
from freezegun import freeze_time
from standardwebhooks import Webhook, WebhookVerificationError

from pcem.processors.providers import DeliveryFailed, Message
from pcem.processors.providers.webhook import WebhookProvider
from pcem.settings import WebhookSettings
from tests.integration.delivery_helpers import notification_message
from tests.integration.receivers import Answer, HttpServer, Request, free_port, http_server

SECRET = "whsec_" + base64.b64encode(b"a key of twenty-four b.").decode()
FIRST_ATTEMPT = datetime(2026, 11, 21, 8, 0, 5, tzinfo=UTC)


class Receiver:
    """Verifies every request with ``standardwebhooks``, then answers the next status."""

    def __init__(self, verifier: Webhook, *statuses: int) -> None:
        self.verifier = verifier
        self.statuses = list(statuses)
        self.verified: list[Any] = []

    def __call__(self, request: Request) -> Answer:
        try:
            self.verified.append(self.verifier.verify(request.body, request.headers))
        except WebhookVerificationError as error:
            return Answer(400, str(error).encode())
        return Answer(self.statuses.pop(0) if self.statuses else 204)


def send(
    http: urllib3.PoolManager,
    server: HttpServer,
    message: Message,
    *,
    secret: str = SECRET,
    **settings: Any,
) -> Any:
    provider = WebhookProvider(WebhookSettings(**settings), http)
    return provider.send(
        message, {"type": "webhook", "url": f"{server.url}/hook", "secret": secret}
    )


def test_the_post_is_signed_so_that_a_standard_webhooks_receiver_verifies_it(
    outgoing_http: urllib3.PoolManager,
) -> None:
    # given
    receiver = Receiver(Webhook(SECRET))
    message = notification_message()
    with http_server(receiver) as server:
        # when
        delivered = send(outgoing_http, server, message)

    # then
    [request] = server.requests
    assert request.method == "POST"
    assert request.path == "/hook"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == str(message.notification_id)
    assert request.headers["webhook-signature"].startswith("v1,")
    assert receiver.verified == [
        {"type": "notification.due", "timestamp": "2026-11-21T08:00:00Z", "data": message.payload}
    ]
    assert delivered.detail == "HTTP 204"


def test_a_retry_has_the_same_webhook_id_and_a_new_timestamp(
    outgoing_http: urllib3.PoolManager,
) -> None:
    # given: the receiver fails the first attempt
    receiver = Receiver(Webhook(SECRET), 503)
    message = notification_message()
    with http_server(receiver) as server:
        # when: the worker tries again a minute later
        with freeze_time(FIRST_ATTEMPT), pytest.raises(DeliveryFailed) as failure:
            send(outgoing_http, server, message)
        with freeze_time(FIRST_ATTEMPT + timedelta(minutes=1)):
            send(outgoing_http, server, message)

    # then
    assert failure.value.retryable
    first, second = server.requests
    assert (
        first.headers["webhook-id"] == second.headers["webhook-id"] == str(message.notification_id)
    )
    assert int(first.headers["webhook-timestamp"]) == FIRST_ATTEMPT.timestamp()
    assert int(second.headers["webhook-timestamp"]) == FIRST_ATTEMPT.timestamp() + 60
    assert first.headers["webhook-signature"] != second.headers["webhook-signature"]
    assert first.body == second.body
    assert len(receiver.verified) == 2


def test_a_secret_that_is_not_a_whsec_key_signs_with_its_utf8_bytes(
    outgoing_http: urllib3.PoolManager,
) -> None:
    secret = "correct horse battery staple ✓"
    receiver = Receiver(Webhook(secret.encode()))
    with http_server(receiver) as server:
        send(outgoing_http, server, notification_message(), secret=secret)

    assert len(receiver.verified) == 1


def test_a_whsec_secret_that_is_not_base64_fails_for_good_without_a_request(
    outgoing_http: urllib3.PoolManager,
) -> None:
    with http_server(Receiver(Webhook(SECRET))) as server, pytest.raises(DeliveryFailed) as failure:
        send(outgoing_http, server, notification_message(), secret="whsec_abcde")

    assert not failure.value.retryable
    assert "not base64" in failure.value.reason
    assert not server.requests


def test_410_fails_at_once_because_the_receiver_says_the_endpoint_is_gone(
    outgoing_http: urllib3.PoolManager,
) -> None:
    receiver = Receiver(Webhook(SECRET), 410)
    with http_server(receiver) as server, pytest.raises(DeliveryFailed) as failure:
        send(outgoing_http, server, notification_message())

    assert not failure.value.retryable
    assert failure.value.reason == "the receiver says the endpoint is gone (HTTP 410)"


def test_a_redirect_is_not_followed_and_fails_for_good(outgoing_http: urllib3.PoolManager) -> None:
    def redirect(request: Request) -> Answer:
        return Answer(307, headers={"Location": "/elsewhere"})

    with http_server(redirect) as server, pytest.raises(DeliveryFailed) as failure:
        send(outgoing_http, server, notification_message())

    assert not failure.value.retryable
    assert "redirects are not followed" in failure.value.reason
    assert [r.path for r in server.requests] == ["/hook"]


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        *[(500, True), (502, True), (503, True), (408, True), (429, True)],
        *[(400, False), (401, False), (403, False), (404, False), (422, False)],
    ],
)
def test_server_errors_are_retried_and_other_refusals_are_not(
    outgoing_http: urllib3.PoolManager, status: int, retryable: bool
) -> None:
    receiver = Receiver(Webhook(SECRET), status)
    with http_server(receiver) as server, pytest.raises(DeliveryFailed) as failure:
        send(outgoing_http, server, notification_message())

    assert failure.value.retryable is retryable
    assert failure.value.reason == f"the webhook receiver answered HTTP {status}"


def test_a_receiver_slower_than_the_timeout_is_retried(outgoing_http: urllib3.PoolManager) -> None:
    def slow(request: Request) -> Answer:
        server.stopping.wait(5)
        return Answer(204)

    with http_server(slow) as server, pytest.raises(DeliveryFailed) as failure:
        send(outgoing_http, server, notification_message(), timeout_seconds=0.3)

    assert failure.value.retryable
    assert "Read timed out. (read timeout=0.3)" in failure.value.reason


def test_an_unreachable_receiver_is_retried(outgoing_http: urllib3.PoolManager) -> None:
    provider = WebhookProvider(WebhookSettings(), outgoing_http)
    url = f"http://127.0.0.1:{free_port()}/hook"

    with pytest.raises(DeliveryFailed) as failure:
        provider.send(notification_message(), {"type": "webhook", "url": url, "secret": SECRET})

    assert failure.value.retryable
    assert "Connection refused" in failure.value.reason


def test_a_short_answer_keeps_its_connection_and_a_long_one_is_cut_off(
    outgoing_http: urllib3.PoolManager,
) -> None:
    # given: a receiver that answers a few bytes, then 2 MB, then nothing
    bodies = iter([b"thanks", b"x" * 2_000_000, b"", b""])

    def answering(request: Request) -> Answer:
        return Answer(200, next(bodies))

    with http_server(answering) as server:
        # when
        for _ in range(4):
            assert send(outgoing_http, server, notification_message()).detail == "HTTP 200"

    # then: the next delivery went over the same connection, except after the long
    # answer, whose connection was closed rather than read to its end
    first, second, third, fourth = (r.client_port for r in server.requests)
    assert first == second != third == fourth


def test_a_receivers_cookies_are_never_sent_back(outgoing_http: urllib3.PoolManager) -> None:
    def with_cookie(request: Request) -> Answer:
        return Answer(204, headers={"Set-Cookie": "session=abc; Path=/"})

    with http_server(with_cookie) as server:
        send(outgoing_http, server, notification_message())
        send(outgoing_http, server, notification_message())

    assert all("cookie" not in request.headers for request in server.requests)


def test_the_body_is_the_notification_in_a_standard_webhooks_envelope() -> None:
    message = notification_message()

    envelope = json.loads(WebhookProvider.body(message))

    assert set(envelope) == {"type", "timestamp", "data"}
    assert envelope["data"]["id"] == str(message.notification_id)
