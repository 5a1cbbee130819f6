"""Email over SMTP (the stdlib's ``smtplib``): text plus an HTML alternative.

The ``Message-ID`` is the message's id (the notification's, or its digest's) at
the sender's domain, the same on every attempt, so a mail that is sent twice
(the server accepted it, then the connection dropped before its answer) is one
message to the mail clients that de-duplicate by it. Once the server has
accepted the message it counts as delivered, whatever happens to the connection
afterwards.
"""

from __future__ import annotations

import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

from pcem.processors.providers.base import (
    ChannelConfig,
    Delivered,
    DeliveryFailed,
    Message,
    described,
    without_secrets,
)
from pcem.settings import SmtpSettings


class EmailProvider:
    channel = "email"

    def __init__(self, settings: SmtpSettings, *, tls: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        self._tls = tls or ssl.create_default_context()  # tests pass their own CA

    def send(self, message: Message, channel: ChannelConfig) -> Delivered:
        email = self.compose(message, channel["address"])
        try:
            self._submit(email)
        except smtplib.SMTPResponseException as error:
            raise self._refused(error.smtp_code, error.smtp_error) from None
        except smtplib.SMTPRecipientsRefused as error:
            raise self._refused(*next(iter(error.recipients.values()))) from None
        except smtplib.SMTPNotSupportedError as error:
            reason = f"the mail server cannot take this message: {described(error)}"
            raise DeliveryFailed(reason, retryable=False) from None
        except (smtplib.SMTPException, OSError) as error:  # refused, timed out, dropped
            reason = f"could not talk to the mail server: {described(error, self._password)}"
            raise DeliveryFailed(reason, retryable=True) from None
        return Delivered("accepted by the mail server", reference=email["Message-ID"])

    def compose(self, message: Message, address: str) -> EmailMessage:
        email = EmailMessage()
        email["Subject"] = message.subject
        email["From"] = self.settings.sender
        email["To"] = address
        email["Date"] = format_datetime(datetime.now(UTC))
        email["Message-ID"] = f"<{message.notification_id}@{self.settings.sender_domain}>"
        email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
        # Quoted-printable keeps every line 7-bit, for servers without 8BITMIME.
        email.set_content(message.text, cte="quoted-printable")
        email.add_alternative(message.html, subtype="html", cte="quoted-printable")
        return email

    def _submit(self, email: EmailMessage) -> None:
        settings = self.settings
        # EHLO with the sender's domain: smtplib would otherwise look up this host's
        # name (socket.getfqdn) on every connection.
        smtp = smtplib.SMTP(
            settings.host,  # given here, not to connect(): STARTTLS checks the cert against it
            settings.port,
            timeout=settings.timeout_seconds,
            local_hostname=settings.sender_domain,
        )
        try:
            if settings.starttls:
                smtp.starttls(context=self._tls)
            if settings.username and settings.password:
                smtp.login(settings.username, settings.password)
            smtp.send_message(email)
        finally:
            _close(smtp)

    def _refused(self, code: int, answer: bytes | str) -> DeliveryFailed:
        text = answer.decode(errors="replace") if isinstance(answer, bytes) else answer
        reason = f"the mail server answered {code} {without_secrets(text, self._password)}"
        # 4xx: try again later (greylisting, a full mailbox, a busy server); 5xx: never.
        return DeliveryFailed(reason.strip()[:300], retryable=400 <= code < 500)

    @property
    def _password(self) -> str | None:
        return self.settings.password


def _close(smtp: smtplib.SMTP) -> None:
    """QUIT politely; an error now cannot undo a message already accepted."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
