"""The email provider against a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import ssl
import uuid
from html import escape
from pathlib import Path
from typing import Any

import pytest

from pcem.processors.providers import DeliveryFailed
from pcem.processors.providers.smtp import EmailProvider
from pcem.settings import SmtpSettings
from tests.integration.delivery_helpers import notification_message
from tests.integration.receivers import (
    Mailbox,
    free_port,
    password_check,
    self_signed_certificate,
    silent_listener,
    smtp_server,
)

TO = {"type": "email", "address": "anna@example.net"}


def provider(port: int, *, tls: ssl.SSLContext | None = None, **settings: Any) -> EmailProvider:
    defaults = {"sender": "PCEM Reminders <reminders@example.org>", "timeout_seconds": 2.0}
    return EmailProvider(
        SmtpSettings(host="127.0.0.1", port=port, **{**defaults, **settings}), tls=tls
    )


def test_a_reminder_arrives_as_text_with_an_html_alternative() -> None:
    # given
    message = notification_message(person_name="Zoë Ångström")
    with smtp_server() as server:
        # when
        delivered = provider(server.port).send(message, TO)

    # then
    [envelope] = server.mailbox.received
    assert envelope.mail_from == "reminders@example.org"
    assert envelope.rcpt_tos == ["anna@example.net"]
    assert bytes(envelope.content).isascii()  # type: ignore[arg-type]  # every non-ASCII byte encoded
    [mail] = server.mailbox.messages()
    assert mail["Subject"] == "Zoë Ångström's birthday is in 7 days"
    assert mail["From"].addresses[0].display_name == "PCEM Reminders"
    assert mail["To"] == "anna@example.net"
    assert mail["Message-ID"] == f"<{message.notification_id}@example.org>"
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None and html is not None
    sentence = "Zoë Ångström's birthday is in 7 days — Saturday 28 November"
    assert text.get_content().rstrip() == sentence
    assert f"<p>{escape(sentence)}</p>" in html.get_content()
    assert delivered.reference == mail["Message-ID"]


def test_every_attempt_carries_the_same_message_id() -> None:
    message = notification_message(notification_id=uuid.uuid4())
    with smtp_server() as server:
        provider(server.port).send(message, TO)
        provider(server.port).send(message, TO)

    first, second = server.mailbox.messages()
    assert first["Message-ID"] == second["Message-ID"] == f"<{message.notification_id}@example.org>"


@pytest.mark.parametrize(
    ("mailbox", "code", "retryable"),
    [
        (Mailbox(rcpt_answer="450 4.2.1 Mailbox busy, try later"), 450, True),
        (Mailbox(data_answer="451 4.3.0 Temporary local problem"), 451, True),
        (Mailbox(rcpt_answer="550 5.1.1 No such user here"), 550, False),
        (Mailbox(data_answer="554 5.7.1 Message rejected as spam"), 554, False),
    ],
    ids=["rcpt-450", "data-451", "rcpt-550", "data-554"],
)
def test_a_4xx_answer_is_worth_retrying_and_a_5xx_is_not(
    mailbox: Mailbox, code: int, retryable: bool
) -> None:
    with smtp_server(mailbox) as server, pytest.raises(DeliveryFailed) as failure:
        provider(server.port).send(notification_message(), TO)

    assert failure.value.retryable is retryable
    assert failure.value.reason.startswith(f"the mail server answered {code} ")
    assert not server.mailbox.received


def test_an_unreachable_server_is_worth_retrying() -> None:
    with pytest.raises(DeliveryFailed) as failure:
        provider(free_port()).send(notification_message(), TO)

    assert failure.value.retryable
    assert "ConnectionRefusedError" in failure.value.reason


def test_a_server_that_never_answers_times_out_and_is_worth_retrying() -> None:
    with silent_listener() as port, pytest.raises(DeliveryFailed) as failure:
        provider(port, timeout_seconds=0.3).send(notification_message(), TO)

    assert failure.value.retryable
    assert "timed out" in failure.value.reason


def test_a_message_the_server_accepted_is_delivered_even_if_quit_goes_wrong() -> None:
    with smtp_server(Mailbox(quit_answer="421 4.3.2 Shutting down")) as server:
        delivered = provider(server.port).send(notification_message(), TO)

    assert delivered.detail == "accepted by the mail server"
    assert len(server.mailbox.received) == 1


def test_starttls_then_login_sends_over_the_encrypted_connection(tmp_path: Path) -> None:
    certificate = self_signed_certificate(tmp_path)
    with smtp_server(
        tls_context=certificate.server_context(),
        require_starttls=True,
        authenticator=password_check("pcem", "correct horse battery staple"),
    ) as server:
        provider(
            server.port,
            tls=certificate.client_context(),
            starttls=True,
            username="pcem",
            password="correct horse battery staple",
        ).send(notification_message(), TO)

    assert len(server.mailbox.received) == 1


def test_a_refused_login_is_not_retried_and_does_not_repeat_the_password(
    tmp_path: Path,
) -> None:
    certificate = self_signed_certificate(tmp_path)
    with (
        smtp_server(
            tls_context=certificate.server_context(),
            authenticator=password_check("pcem", "the right password"),
        ) as server,
        pytest.raises(DeliveryFailed) as failure,
    ):
        provider(
            server.port,
            tls=certificate.client_context(),
            starttls=True,
            username="pcem",
            password="a-wrong-password-123",
        ).send(notification_message(), TO)

    assert not failure.value.retryable
    assert failure.value.reason.startswith("the mail server answered 535")
    assert "a-wrong-password-123" not in repr(failure.value)


def test_starttls_on_a_server_without_it_fails_for_good() -> None:
    with smtp_server() as server, pytest.raises(DeliveryFailed) as failure:
        provider(server.port, starttls=True).send(notification_message(), TO)

    assert not failure.value.retryable
    assert "STARTTLS" in failure.value.reason
