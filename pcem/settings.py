"""All configuration, read once from the ``PCEM_*`` environment.

Everything else receives a :class:`Settings`; nothing reads ``os.environ`` on its
own. A bad value raises :class:`ConfigError` whose message is one line naming the
variable, so start-up can fail with exactly that line.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


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
class Settings:
    database: DatabaseSettings | None
    redis: RedisSettings | None
    jwt: JWTSettings = field(default_factory=JWTSettings)
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
    return DatabaseSettings(url="postgresql://" + url.split("://", 1)[1])


def _redis(url: str, broker_url: str | None) -> RedisSettings:
    for name, value in (("PCEM_REDIS_URL", url), ("PCEM_BROKER_URL", broker_url)):
        if value is not None and urlsplit(value).scheme not in _REDIS_SCHEMES[name]:
            allowed = ", ".join(f"{s}://" for s in _REDIS_SCHEMES[name])
            raise ConfigError(f"{name} must be a URL starting with one of: {allowed}")
    return RedisSettings(url=url, broker_url=broker_url or _broker_url_for(url))


_REDIS_SCHEMES = {
    "PCEM_REDIS_URL": ("redis", "rediss", "unix"),
    "PCEM_BROKER_URL": ("redis", "rediss", "redis+socket", "amqp", "amqps"),
}


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


def log_level_number(settings: Settings) -> int:
    return logging.getLevelNamesMapping()[settings.log_level]
