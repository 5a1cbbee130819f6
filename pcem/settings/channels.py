"""How notifications leave PCEM: SMTP, an SMS API, webhooks (``PCEM_SMTP_*``,
``PCEM_SMS_*``, ``PCEM_WEBHOOK_*``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr

from pcem.settings.values import (
    ConfigError,
    base_url,
    boolean,
    optional,
    port,
    refuse_without,
    required_with,
    seconds,
)

TWILIO_API = "https://api.twilio.com"


@dataclass(frozen=True)
class SmtpSettings:
    """Email over SMTP; present when ``PCEM_SMTP_HOST`` is set."""

    host: str
    sender: str  # PCEM_SMTP_FROM: "reminders@example.org" or "PCEM <reminders@example.org>"
    port: int = 25
    starttls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout_seconds: float = 10.0

    @property
    def sender_domain(self) -> str:
        return parseaddr(self.sender)[1].rpartition("@")[2]


@dataclass(frozen=True)
class SmsSettings:
    """Text messages through Twilio's Messages API (or one of the same shape)."""

    account_sid: str
    auth_token: str = field(repr=False)
    sender: str  # PCEM_SMS_FROM: an E.164 number or an alphanumeric sender id
    base_url: str = TWILIO_API
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class WebhookSettings:
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class ChannelSettings:
    """How notifications leave PCEM. A channel left unconfigured fails its deliveries."""

    smtp: SmtpSettings | None = None
    sms: SmsSettings | None = None
    webhook: WebhookSettings = field(default_factory=WebhookSettings)


def channels_from(env: Mapping[str, str]) -> ChannelSettings:
    webhook_timeout = seconds(env, "PCEM_WEBHOOK_TIMEOUT_SECONDS")
    return ChannelSettings(
        smtp=_smtp(env), sms=_sms(env), webhook=WebhookSettings(timeout_seconds=webhook_timeout)
    )


_SMTP = (
    "PCEM_SMTP_FROM",
    "PCEM_SMTP_PORT",
    "PCEM_SMTP_STARTTLS",
    "PCEM_SMTP_USERNAME",
    "PCEM_SMTP_PASSWORD",
    "PCEM_SMTP_TIMEOUT_SECONDS",
)


def _smtp(env: Mapping[str, str]) -> SmtpSettings | None:
    host = optional(env, "PCEM_SMTP_HOST")
    if host is None:
        refuse_without(env, "PCEM_SMTP_HOST", _SMTP)
        return None
    if "://" in host or not re.fullmatch(r"[\w.:\[\]-]+", host):
        raise ConfigError("PCEM_SMTP_HOST must be a host name or address, not a URL")
    username, password = optional(env, "PCEM_SMTP_USERNAME"), optional(env, "PCEM_SMTP_PASSWORD")
    if (username is None) != (password is None):
        raise ConfigError("PCEM_SMTP_USERNAME and PCEM_SMTP_PASSWORD must be set together")
    starttls = boolean(env, "PCEM_SMTP_STARTTLS")
    return SmtpSettings(
        host=host,
        sender=_sender_address(required_with(env, "PCEM_SMTP_FROM", "PCEM_SMTP_HOST")),
        port=port(env, "PCEM_SMTP_PORT", 587 if starttls else 25),
        starttls=starttls,
        username=username,
        password=password,
        timeout_seconds=seconds(env, "PCEM_SMTP_TIMEOUT_SECONDS"),
    )


def _sender_address(value: str) -> str:
    address = parseaddr(value)[1]
    # ASCII: the domain also names the Message-ID and the EHLO; the name may be any text.
    if not (address.isascii() and re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address)):
        raise ConfigError(
            "PCEM_SMTP_FROM must be an ASCII address such as reminders@example.org "
            "or PCEM <reminders@example.org>"
        )
    return value


_SMS = ("PCEM_SMS_AUTH_TOKEN", "PCEM_SMS_FROM", "PCEM_SMS_BASE_URL", "PCEM_SMS_TIMEOUT_SECONDS")
_E164 = r"\+[1-9][0-9]{6,14}"
_ALPHANUMERIC_SENDER = r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}"


def _sms(env: Mapping[str, str]) -> SmsSettings | None:
    sid = optional(env, "PCEM_SMS_ACCOUNT_SID")
    if sid is None:
        refuse_without(env, "PCEM_SMS_ACCOUNT_SID", _SMS)
        return None
    if not re.fullmatch(r"[A-Za-z0-9-]{1,64}", sid):
        raise ConfigError(
            "PCEM_SMS_ACCOUNT_SID must be an account id: letters, digits, dashes (Twilio's: AC…)"
        )
    sender = required_with(env, "PCEM_SMS_FROM", "PCEM_SMS_ACCOUNT_SID")
    if not re.fullmatch(f"{_E164}|{_ALPHANUMERIC_SENDER}", sender):
        raise ConfigError(
            "PCEM_SMS_FROM must be an E.164 number (+4915112345678) "
            "or an alphanumeric sender id of at most 11 characters"
        )
    return SmsSettings(
        account_sid=sid,
        auth_token=required_with(env, "PCEM_SMS_AUTH_TOKEN", "PCEM_SMS_ACCOUNT_SID"),
        sender=sender,
        base_url=base_url(env, "PCEM_SMS_BASE_URL", TWILIO_API),
        timeout_seconds=seconds(env, "PCEM_SMS_TIMEOUT_SECONDS"),
    )
