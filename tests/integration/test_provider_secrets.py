"""Passwords, tokens and webhook secrets never reach a log line or a failure's reason,
not even when a server repeats them back."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
import urllib3

from pcem.processors.providers import DeliveryFailed, Message
from pcem.processors.providers.sms import TwilioSmsProvider
from pcem.processors.providers.smtp import EmailProvider
from pcem.processors.providers.webhook import WebhookProvider
from pcem.settings import SmsSettings, SmtpSettings, WebhookSettings
from tests.integration.delivery_helpers import notification_message
from tests.integration.fake_twilio import FakeTwilio, twilio_error
from tests.integration.receivers import (
    Answer,
    Request,
    free_port,
    http_server,
    password_check,
    self_signed_certificate,
    smtp_server,
)

PASSWORD = "smtp-password-Q7w9e2r4"
TOKEN = "twilio-token-5f1d0a9c8b7e6d5c4b3a"
SECRET = "whsec_" + base64.b64encode(b"webhook-secret-key-bytes").decode()
SID = "AC" + "7" * 32
TEST_SERVERS_LOGGER = "mail.log"  # aiosmtpd's, of the test's own SMTP server


@pytest.fixture
def everything_logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)  # urllib3, aiosmtpd's mail.log: all of it
    return caplog


def failure_of(send: Callable[[], object]) -> DeliveryFailed:
    with pytest.raises(DeliveryFailed) as failure:
        send()
    return failure.value


def assert_nowhere(
    secret: str,
    failures: list[DeliveryFailed],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    for failure in failures:
        assert secret not in failure.reason
        assert secret not in repr(failure)
        # A traceback would show the original error too: it is left out.
        assert failure.__cause__ is None
        assert failure.__context__ is None or failure.__suppress_context__
    ours = [r for r in caplog.records if not r.name.startswith(TEST_SERVERS_LOGGER)]
    assert not [r for r in ours if secret in r.getMessage()]
    output = capfd.readouterr()
    assert secret not in output.out + output.err


def test_the_smtp_password(
    tmp_path: Path,
    everything_logged: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    certificate = self_signed_certificate(tmp_path)
    echoing = password_check("pcem", "another", refusal=f"535 5.7.8 {PASSWORD} is wrong")

    def email(port: int) -> EmailProvider:
        settings = SmtpSettings(
            host="127.0.0.1",
            port=port,
            sender="r@example.org",
            starttls=True,
            username="pcem",
            password=PASSWORD,
            timeout_seconds=2,
        )
        return EmailProvider(settings, tls=certificate.client_context())

    def send(provider: EmailProvider) -> object:
        return provider.send(notification_message(), {"type": "email", "address": "a@b.org"})

    with smtp_server(tls_context=certificate.server_context(), authenticator=echoing) as server:
        refused = failure_of(lambda: send(email(server.port)))
    unreachable = failure_of(lambda: send(email(free_port())))

    assert refused.reason == "the mail server answered 535 5.7.8 [redacted] is wrong"
    assert_nowhere(PASSWORD, [refused, unreachable], everything_logged, capfd)


def test_the_sms_auth_token(
    outgoing_http: urllib3.PoolManager,
    everything_logged: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    twilio = FakeTwilio(SID, TOKEN)

    def sms(base_url: str) -> TwilioSmsProvider:
        settings = SmsSettings(SID, TOKEN, sender="+15005550006", base_url=base_url)
        return TwilioSmsProvider(settings, outgoing_http)

    def send(provider: TwilioSmsProvider) -> object:
        return provider.send(notification_message(), {"type": "sms", "phone": "+4915112345678"})

    with http_server(twilio) as server:
        send(sms(server.url))
        twilio.answer = twilio_error(401, 20003, f"Authenticate: {TOKEN} is not valid")
        refused = failure_of(lambda: send(sms(server.url)))
    unreachable = failure_of(lambda: send(sms(f"http://127.0.0.1:{free_port()}")))

    assert "[redacted]" in refused.reason
    assert_nowhere(TOKEN, [refused, unreachable], everything_logged, capfd)


def test_the_webhook_secret(
    outgoing_http: urllib3.PoolManager,
    everything_logged: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    answers = iter([Answer(204), Answer(500, SECRET.encode())])

    def receiver(request: Request) -> Answer:
        return next(answers)

    def send(url: str, message: Message) -> object:
        channel = {"type": "webhook", "url": url, "secret": SECRET}
        return WebhookProvider(WebhookSettings(), outgoing_http).send(message, channel)

    with http_server(receiver) as server:
        send(server.url, notification_message())
        refused = failure_of(lambda: send(server.url, notification_message()))
    unreachable = failure_of(
        lambda: send(f"http://127.0.0.1:{free_port()}", notification_message())
    )

    assert_nowhere(SECRET, [refused, unreachable], everything_logged, capfd)
