"""The SMS adapter's contract: what a local Twilio stand-in accepts and how it answers."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import urllib3

from pcem.processors.providers import DeliveryFailed
from pcem.processors.providers.sms import TwilioSmsProvider
from pcem.settings import SmsSettings
from tests.integration.delivery_helpers import notification_message
from tests.integration.fake_twilio import INVALID_NUMBER, FakeTwilio, twilio_error
from tests.integration.receivers import Answer, HttpServer, free_port, http_server

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "f" * 32
SENDER = "+15005550006"
ANNA = {"type": "sms", "phone": "+4915112345678"}


@pytest.fixture
def twilio() -> FakeTwilio:
    return FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)


@pytest.fixture
def server(twilio: FakeTwilio) -> Iterator[HttpServer]:
    with http_server(twilio) as server:
        yield server


def provider(
    http: urllib3.PoolManager, base_url: str, token: str = AUTH_TOKEN
) -> TwilioSmsProvider:
    settings = SmsSettings(
        account_sid=ACCOUNT_SID, auth_token=token, sender=SENDER, base_url=base_url
    )
    return TwilioSmsProvider(settings, http)


def test_a_text_is_posted_as_twilio_documents_it(
    outgoing_http: urllib3.PoolManager, twilio: FakeTwilio, server: HttpServer
) -> None:
    # given
    message = notification_message(channel="sms")

    # when
    delivered = provider(outgoing_http, server.url).send(message, ANNA)

    # then
    assert twilio.accepted == [{"To": "+4915112345678", "From": SENDER, "Body": message.text}]
    assert delivered.detail == "accepted by the SMS API (queued)"
    assert delivered.reference is not None and delivered.reference.startswith("SM")


def test_a_number_twilio_calls_invalid_is_refused_for_good(
    outgoing_http: urllib3.PoolManager, server: HttpServer
) -> None:
    channel = {"type": "sms", "phone": INVALID_NUMBER}

    with pytest.raises(DeliveryFailed) as failure:
        provider(outgoing_http, server.url).send(notification_message(), channel)

    assert not failure.value.retryable
    assert failure.value.reason == (
        "the SMS API refused the message (HTTP 400) 21211 "
        f"The 'To' number {INVALID_NUMBER} is not a valid phone number."
    )


@pytest.mark.parametrize(
    "answer",
    [
        twilio_error(429, 20429, "Too Many Requests"),
        twilio_error(500, 20500, "Internal Server Error"),
        twilio_error(503, 20503, "Service Unavailable"),
        Answer(502, b"<html>Bad Gateway</html>", {"Content-Type": "text/html"}),
    ],
    ids=["429", "500", "503", "502-html"],
)
def test_rate_limits_and_server_errors_are_retried(
    outgoing_http: urllib3.PoolManager, twilio: FakeTwilio, server: HttpServer, answer: Answer
) -> None:
    twilio.answer = answer

    with pytest.raises(DeliveryFailed) as failure:
        provider(outgoing_http, server.url).send(notification_message(), ANNA)

    assert failure.value.retryable
    assert failure.value.reason.startswith(
        f"the SMS API refused the message (HTTP {answer.status})"
    )


def test_a_wrong_auth_token_is_refused_for_good_and_never_repeated(
    outgoing_http: urllib3.PoolManager, server: HttpServer
) -> None:
    token = "a-wrong-token-" + "0" * 18

    with pytest.raises(DeliveryFailed) as failure:
        provider(outgoing_http, server.url, token).send(notification_message(), ANNA)

    assert not failure.value.retryable
    assert failure.value.reason == "the SMS API refused the message (HTTP 401) 20003 Authenticate"
    assert token not in repr(failure.value)


def test_an_unreachable_api_is_retried(outgoing_http: urllib3.PoolManager) -> None:
    with pytest.raises(DeliveryFailed) as failure:
        provider(outgoing_http, f"http://127.0.0.1:{free_port()}").send(
            notification_message(), ANNA
        )

    assert failure.value.retryable
    assert failure.value.reason.startswith("the SMS API did not answer: NewConnectionError")
    assert "Connection refused" in failure.value.reason


@pytest.mark.parametrize(
    ("request_kwargs", "status", "code"),
    [
        ({"json": {"To": "+4915112345678", "From": SENDER, "Body": "hi"}}, 415, 20415),
        ({"data": {"To": "+4915112345678", "From": SENDER}}, 400, 21602),
        ({"data": {"To": "+4915112345678", "From": SENDER, "Body": "hi", "X": "1"}}, 400, 21600),
        ({"data": {"To": "015112345678", "From": SENDER, "Body": "hi"}}, 400, 21211),
        ({"data": {"To": "+4915112345678", "From": SENDER, "Body": "x" * 1601}}, 400, 21617),
        ({"auth": (ACCOUNT_SID, "wrong")}, 401, 20003),
    ],
    ids=["json-body", "no-body", "extra-field", "not-e164", "too-long", "wrong-auth"],
)
def test_the_stand_in_refuses_what_twilio_would(
    server: HttpServer,
    request_kwargs: dict[str, object],
    status: int,
    code: int,
) -> None:
    """The contract is only as strict as the stand-in: it must refuse deviations."""
    url = f"{server.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    kwargs = {"auth": (ACCOUNT_SID, AUTH_TOKEN), **request_kwargs}

    response = httpx.post(url, **kwargs)  # type: ignore[arg-type]

    assert (response.status_code, response.json()["code"]) == (status, code)
    assert response.json()["status"] == status


def test_the_stand_in_refuses_another_path_or_method(server: HttpServer) -> None:
    messages = f"{server.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    auth = (ACCOUNT_SID, AUTH_TOKEN)

    assert httpx.post(f"{server.url}/Messages.json", auth=auth).status_code == 404
    assert httpx.get(messages, auth=auth).status_code == 405
