"""All configuration, read once from the ``PCEM_*`` environment.

Everything else receives a :class:`Settings`; nothing reads ``os.environ`` on its
own. A bad value raises :class:`ConfigError` whose message is one line naming the
variable, so start-up can fail with exactly that line.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlsplit

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
TWILIO_API = "https://api.twilio.com"


class ConfigError(ValueError):
    """A configuration value is missing or malformed."""


@dataclass(frozen=True)
class DatabaseSettings:
    url: str

    @property
    def sqlalchemy_url(self) -> str:
        """The same server, addressed through SQLAlchemy's psycopg 3 dialect."""
        return "postgresql+psycopg://" + self.url.split("://", 1)[1]


@dataclass(frozen=True)
class RedisSettings:
    url: str
    broker_url: str


@dataclass(frozen=True)
class JWTSettings:
    secret: str | None = None
    public_key: str | None = None
    jwks_file: Path | None = None
    issuer: str | None = None
    audience: str | None = None

    @property
    def configured(self) -> bool:
        return bool(self.secret or self.public_key or self.jwks_file)


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


@dataclass(frozen=True)
class ProcessManagerSettings:
    """The notification process manager: ticks, retries and workers' leases."""

    tick_seconds: float = 60.0  # PCEM_SCHEDULER_TICK_SECONDS
    max_retries: int = 3  # PCEM_DELIVERY_MAX_RETRIES: retries after the first attempt
    retry_backoff_seconds: float = 60.0  # PCEM_DELIVERY_RETRY_BACKOFF_SECONDS, doubled each time
    lease_seconds: float = 60.0  # PCEM_DELIVERY_LEASE_SECONDS: a worker's hold on one


@dataclass(frozen=True)
class RateLimitSettings:
    """Abuse limits: requests a minute per caller, and whose forwarded address counts."""

    per_user_per_minute: int = 600  # PCEM_RATE_LIMIT_PER_MINUTE: a valid token's user
    anonymous_per_minute: int = 60  # PCEM_RATE_LIMIT_ANON_PER_MINUTE: a client address
    feed_per_minute: int = 30  # PCEM_RATE_LIMIT_FEED_PER_MINUTE: calendar feed fetches, an address
    trusted_proxies: tuple[str, ...] = ()  # PCEM_TRUSTED_PROXIES: X-Forwarded-For from these


@dataclass(frozen=True)
class Settings:
    database: DatabaseSettings | None
    redis: RedisSettings | None
    jwt: JWTSettings = field(default_factory=JWTSettings)
    channels: ChannelSettings = field(default_factory=ChannelSettings)
    notifications: ProcessManagerSettings = field(default_factory=ProcessManagerSettings)
    rate_limits: RateLimitSettings = field(default_factory=RateLimitSettings)
    data_dir: Path = Path(".pcem")
    log_level: str = "INFO"

    def require_database(self) -> DatabaseSettings:
        if self.database is None:
            raise ConfigError("PCEM_DATABASE_URL is not set (e.g. postgresql://user@host/db)")
        return self.database

    def require_redis(self) -> RedisSettings:
        if self.redis is None:
            raise ConfigError("PCEM_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/0)")
        return self.redis


def load_settings(env: Mapping[str, str]) -> Settings:
    """Read and validate the ``PCEM_*`` variables of ``env``."""
    database_url = _optional(env, "PCEM_DATABASE_URL")
    redis_url = _optional(env, "PCEM_REDIS_URL")
    return Settings(
        database=_database(database_url) if database_url else None,
        redis=_redis(redis_url, _optional(env, "PCEM_BROKER_URL")) if redis_url else None,
        jwt=_jwt(env),
        channels=_channels(env),
        notifications=_process_manager(env),
        rate_limits=_rate_limits(env),
        data_dir=Path(_optional(env, "PCEM_DATA_DIR") or ".pcem"),
        log_level=_log_level(_optional(env, "PCEM_LOG_LEVEL") or "INFO"),
    )


def _optional(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _database(url: str) -> DatabaseSettings:
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ConfigError("PCEM_DATABASE_URL must be a postgresql:// URL")
    if not parts.path.strip("/"):
        raise ConfigError("PCEM_DATABASE_URL must name a database (postgresql://host/dbname)")
    # libpq's multi-host form has one port per host: "h1:5432,h2:5433".
    for host in parts.netloc.rpartition("@")[2].split(","):
        _check_port("PCEM_DATABASE_URL", host)
    return DatabaseSettings(url="postgresql://" + url.split("://", 1)[1])


def _redis(url: str, broker_url: str | None) -> RedisSettings:
    for name, value in (("PCEM_REDIS_URL", url), ("PCEM_BROKER_URL", broker_url)):
        if value is not None and urlsplit(value).scheme not in _REDIS_SCHEMES[name]:
            allowed = ", ".join(f"{s}://" for s in _REDIS_SCHEMES[name])
            raise ConfigError(f"{name} must be a URL starting with one of: {allowed}")
        if value is not None:
            _check_port(name, urlsplit(value).netloc.rpartition("@")[2])
    return RedisSettings(url=url, broker_url=broker_url or _broker_url_for(url))


_REDIS_SCHEMES = {
    "PCEM_REDIS_URL": ("redis", "rediss", "unix"),
    "PCEM_BROKER_URL": ("redis", "rediss", "redis+socket", "amqp", "amqps"),
}


def _check_port(name: str, host_and_port: str) -> None:
    """A port, when given, is a number of 1..65535 (else the URL's parsers raise later)."""
    if host_and_port.startswith("["):  # an IPv6 address: [::1]:5432
        host_and_port = host_and_port.partition("]")[2]
    _, colon, port = host_and_port.rpartition(":")
    if colon and port and not (port.isdigit() and 1 <= int(port) <= 65535):
        raise ConfigError(f"{name} has port {port!r}: it must be a number from 1 to 65535")


def _broker_url_for(redis_url: str) -> str:
    """Celery spells a Redis unix socket ``redis+socket://``; redis-py spells it ``unix://``."""
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url.removeprefix("unix://")
    return redis_url


def _jwt(env: Mapping[str, str]) -> JWTSettings:
    jwks_file = _optional(env, "PCEM_JWT_JWKS_FILE")
    if jwks_file is not None and not Path(jwks_file).is_file():
        raise ConfigError(f"PCEM_JWT_JWKS_FILE points to a missing file: {jwks_file}")
    public_key = _optional(env, "PCEM_JWT_PUBLIC_KEY")
    if public_key is not None and "-----BEGIN PUBLIC KEY-----" not in public_key:
        raise ConfigError(
            "PCEM_JWT_PUBLIC_KEY must be a PEM public key (-----BEGIN PUBLIC KEY-----)"
        )
    secret = _optional(env, "PCEM_JWT_SECRET")
    if secret is not None and len(secret) < 32:
        raise ConfigError("PCEM_JWT_SECRET must be at least 32 characters long")
    return JWTSettings(
        secret=secret,
        public_key=public_key,
        jwks_file=Path(jwks_file) if jwks_file else None,
        issuer=_optional(env, "PCEM_JWT_ISSUER"),
        audience=_optional(env, "PCEM_JWT_AUDIENCE"),
    )


def _log_level(value: str) -> str:
    level = value.upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"PCEM_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {value!r}")
    return level


def _channels(env: Mapping[str, str]) -> ChannelSettings:
    webhook_timeout = _seconds(env, "PCEM_WEBHOOK_TIMEOUT_SECONDS")
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
    host = _optional(env, "PCEM_SMTP_HOST")
    if host is None:
        _refuse_without(env, "PCEM_SMTP_HOST", _SMTP)
        return None
    if "://" in host or not re.fullmatch(r"[\w.:\[\]-]+", host):
        raise ConfigError("PCEM_SMTP_HOST must be a host name or address, not a URL")
    username, password = _optional(env, "PCEM_SMTP_USERNAME"), _optional(env, "PCEM_SMTP_PASSWORD")
    if (username is None) != (password is None):
        raise ConfigError("PCEM_SMTP_USERNAME and PCEM_SMTP_PASSWORD must be set together")
    starttls = _boolean(env, "PCEM_SMTP_STARTTLS")
    return SmtpSettings(
        host=host,
        sender=_sender_address(_required_with(env, "PCEM_SMTP_FROM", "PCEM_SMTP_HOST")),
        port=_port(env, "PCEM_SMTP_PORT", 587 if starttls else 25),
        starttls=starttls,
        username=username,
        password=password,
        timeout_seconds=_seconds(env, "PCEM_SMTP_TIMEOUT_SECONDS"),
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
    sid = _optional(env, "PCEM_SMS_ACCOUNT_SID")
    if sid is None:
        _refuse_without(env, "PCEM_SMS_ACCOUNT_SID", _SMS)
        return None
    if not re.fullmatch(r"[A-Za-z0-9-]{1,64}", sid):
        raise ConfigError(
            "PCEM_SMS_ACCOUNT_SID must be an account id: letters, digits, dashes (Twilio's: AC…)"
        )
    sender = _required_with(env, "PCEM_SMS_FROM", "PCEM_SMS_ACCOUNT_SID")
    if not re.fullmatch(f"{_E164}|{_ALPHANUMERIC_SENDER}", sender):
        raise ConfigError(
            "PCEM_SMS_FROM must be an E.164 number (+4915112345678) "
            "or an alphanumeric sender id of at most 11 characters"
        )
    return SmsSettings(
        account_sid=sid,
        auth_token=_required_with(env, "PCEM_SMS_AUTH_TOKEN", "PCEM_SMS_ACCOUNT_SID"),
        sender=sender,
        base_url=_base_url(env, "PCEM_SMS_BASE_URL", TWILIO_API),
        timeout_seconds=_seconds(env, "PCEM_SMS_TIMEOUT_SECONDS"),
    )


def _refuse_without(env: Mapping[str, str], needed: str, dependents: tuple[str, ...]) -> None:
    for name in dependents:
        if _optional(env, name) is not None:
            raise ConfigError(f"{name} is set but {needed} is not")


def _required_with(env: Mapping[str, str], name: str, because: str) -> str:
    value = _optional(env, name)
    if value is None:
        raise ConfigError(f"{name} is required when {because} is set")
    return value


def _base_url(env: Mapping[str, str], name: str, default: str) -> str:
    value = _optional(env, name) or default
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name} must be an http:// or https:// URL")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigError(f"{name} must be a plain URL: no credentials, query or fragment")
    return value.rstrip("/")


def _boolean(env: Mapping[str, str], name: str) -> bool:
    value = (_optional(env, name) or "false").lower()
    if value not in _BOOLEANS:
        raise ConfigError(f"{name} must be true or false (also 1/0, yes/no, on/off)")
    return _BOOLEANS[value]


_BOOLEANS = {
    **dict.fromkeys(("true", "1", "yes", "on"), True),
    **dict.fromkeys(("false", "0", "no", "off"), False),
}


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    value = _optional(env, name)
    if value is None:
        return default
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 65535:
        raise ConfigError(f"{name} must be a port number, 1 to 65535, not {value!r}")
    return int(value)


MAX_TIMEOUT_SECONDS = 300.0


def _seconds(
    env: Mapping[str, str], name: str, default: float = 10.0, most: float = MAX_TIMEOUT_SECONDS
) -> float:
    value = _optional(env, name)
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= most:  # also refuses nan
        raise ConfigError(
            f"{name} must be a number of seconds, above 0 and at most {most:g}, not {value!r}"
        )
    return seconds


def log_level_number(settings: Settings) -> int:
    return logging.getLevelNamesMapping()[settings.log_level]


MAX_PROCESS_SECONDS = 86_400.0
MAX_RETRIES = 20


def _process_manager(env: Mapping[str, str]) -> ProcessManagerSettings:
    return ProcessManagerSettings(
        tick_seconds=_seconds(env, "PCEM_SCHEDULER_TICK_SECONDS", 60.0, MAX_PROCESS_SECONDS),
        max_retries=_count(env, "PCEM_DELIVERY_MAX_RETRIES", 3, MAX_RETRIES),
        retry_backoff_seconds=_seconds(
            env, "PCEM_DELIVERY_RETRY_BACKOFF_SECONDS", 60.0, MAX_PROCESS_SECONDS
        ),
        lease_seconds=_seconds(env, "PCEM_DELIVERY_LEASE_SECONDS", 60.0, MAX_PROCESS_SECONDS),
    )


def _count(env: Mapping[str, str], name: str, default: int, most: int, least: int = 0) -> int:
    value = _optional(env, name)
    if value is None:
        return default
    if not (value.isascii() and value.isdigit()) or not least <= int(value) <= most:
        raise ConfigError(f"{name} must be a whole number from {least} to {most}, not {value!r}")
    return int(value)


MAX_RATE_PER_MINUTE = 10_000_000


def _rate_limits(env: Mapping[str, str]) -> RateLimitSettings:
    defaults = RateLimitSettings()
    return RateLimitSettings(
        per_user_per_minute=_count(
            env, "PCEM_RATE_LIMIT_PER_MINUTE", defaults.per_user_per_minute, MAX_RATE_PER_MINUTE, 1
        ),
        anonymous_per_minute=_count(
            env,
            "PCEM_RATE_LIMIT_ANON_PER_MINUTE",
            defaults.anonymous_per_minute,
            MAX_RATE_PER_MINUTE,
            1,
        ),
        feed_per_minute=_count(
            env,
            "PCEM_RATE_LIMIT_FEED_PER_MINUTE",
            defaults.feed_per_minute,
            MAX_RATE_PER_MINUTE,
            1,
        ),
        trusted_proxies=_trusted_proxies(_optional(env, "PCEM_TRUSTED_PROXIES")),
    )


def _trusted_proxies(value: str | None) -> tuple[str, ...]:
    """Addresses or networks, comma-separated; ``*`` would trust anyone, so it is refused."""
    entries = tuple(entry.strip() for entry in (value or "").split(",") if entry.strip())
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ConfigError(
                "PCEM_TRUSTED_PROXIES must be IP addresses or networks, comma-separated "
                f"(e.g. 10.0.0.5,10.1.0.0/16), not {entry!r}"
            ) from None
    return entries
