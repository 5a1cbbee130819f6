"""All configuration, read once from the ``PCEM_*`` environment.

Everything else receives a :class:`Settings`; nothing reads ``os.environ`` on its
own. A bad value raises :class:`ConfigError` whose message is one line naming the
variable, so start-up can fail with exactly that line.

One module a concern: ``services`` (PostgreSQL, Redis), ``access`` (tokens, abuse
limits), ``channels`` (SMTP, SMS, webhooks), ``values`` (reading one variable); the
whole, the process manager's and the log level here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pcem.settings.access import JWTSettings, RateLimitSettings, jwt_from, rate_limits_from
from pcem.settings.channels import (
    ChannelSettings,
    SmsSettings,
    SmtpSettings,
    WebhookSettings,
    channels_from,
)
from pcem.settings.erasure import MAKE_ONE, master_key_from
from pcem.settings.services import DatabaseSettings, RedisSettings, database_from, redis_from
from pcem.settings.values import ConfigError, count, optional, seconds

__all__ = [
    "ChannelSettings",
    "ConfigError",
    "DatabaseSettings",
    "JWTSettings",
    "ProcessManagerSettings",
    "RateLimitSettings",
    "RedisSettings",
    "Settings",
    "SmsSettings",
    "SmtpSettings",
    "WebhookSettings",
    "load_settings",
    "log_level_number",
]

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MAX_PROCESS_SECONDS = 86_400.0
MAX_RETRIES = 20


@dataclass(frozen=True)
class ProcessManagerSettings:
    """The notification process manager: ticks, retries and workers' leases."""

    tick_seconds: float = 60.0  # PCEM_SCHEDULER_TICK_SECONDS
    max_retries: int = 3  # PCEM_DELIVERY_MAX_RETRIES: retries after the first attempt
    retry_backoff_seconds: float = 60.0  # PCEM_DELIVERY_RETRY_BACKOFF_SECONDS, doubled each time
    lease_seconds: float = 60.0  # PCEM_DELIVERY_LEASE_SECONDS: a worker's hold on one


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
    master_key: bytes | None = field(default=None, repr=False)  # PCEM_MASTER_KEY

    def require_database(self) -> DatabaseSettings:
        if self.database is None:
            raise ConfigError("PCEM_DATABASE_URL is not set (e.g. postgresql://user@host/db)")
        return self.database

    def require_master_key(self) -> bytes:
        if self.master_key is None:
            raise ConfigError(f"PCEM_MASTER_KEY is not set (32 random bytes, base64: {MAKE_ONE})")
        return self.master_key

    def require_redis(self) -> RedisSettings:
        if self.redis is None:
            raise ConfigError("PCEM_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/0)")
        return self.redis


def load_settings(env: Mapping[str, str]) -> Settings:
    """Read and validate the ``PCEM_*`` variables of ``env``."""
    database_url = optional(env, "PCEM_DATABASE_URL")
    redis_url = optional(env, "PCEM_REDIS_URL")
    return Settings(
        database=database_from(database_url) if database_url else None,
        redis=redis_from(redis_url, optional(env, "PCEM_BROKER_URL")) if redis_url else None,
        jwt=jwt_from(env),
        channels=channels_from(env),
        notifications=_process_manager(env),
        rate_limits=rate_limits_from(env),
        data_dir=Path(optional(env, "PCEM_DATA_DIR") or ".pcem"),
        log_level=_log_level(optional(env, "PCEM_LOG_LEVEL") or "INFO"),
        master_key=master_key_from(env),
    )


def _log_level(value: str) -> str:
    level = value.upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"PCEM_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {value!r}")
    return level


def log_level_number(settings: Settings) -> int:
    return logging.getLevelNamesMapping()[settings.log_level]


def _process_manager(env: Mapping[str, str]) -> ProcessManagerSettings:
    return ProcessManagerSettings(
        tick_seconds=seconds(env, "PCEM_SCHEDULER_TICK_SECONDS", 60.0, MAX_PROCESS_SECONDS),
        max_retries=count(env, "PCEM_DELIVERY_MAX_RETRIES", 3, MAX_RETRIES),
        retry_backoff_seconds=seconds(
            env, "PCEM_DELIVERY_RETRY_BACKOFF_SECONDS", 60.0, MAX_PROCESS_SECONDS
        ),
        lease_seconds=seconds(env, "PCEM_DELIVERY_LEASE_SECONDS", 60.0, MAX_PROCESS_SECONDS),
    )
