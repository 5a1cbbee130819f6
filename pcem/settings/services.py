"""Where PCEM keeps its state: PostgreSQL (``PCEM_DATABASE_URL``) and Redis, also as the
Celery broker (``PCEM_REDIS_URL``, ``PCEM_BROKER_URL``)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from pcem.settings.values import ConfigError, check_port


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


def database_from(url: str) -> DatabaseSettings:
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ConfigError("PCEM_DATABASE_URL must be a postgresql:// URL")
    if not parts.path.strip("/"):
        raise ConfigError("PCEM_DATABASE_URL must name a database (postgresql://host/dbname)")
    # libpq's multi-host form has one port per host: "h1:5432,h2:5433".
    for host in parts.netloc.rpartition("@")[2].split(","):
        check_port("PCEM_DATABASE_URL", host)
    return DatabaseSettings(url="postgresql://" + url.split("://", 1)[1])


def redis_from(url: str, broker_url: str | None) -> RedisSettings:
    for name, value in (("PCEM_REDIS_URL", url), ("PCEM_BROKER_URL", broker_url)):
        if value is not None and urlsplit(value).scheme not in _REDIS_SCHEMES[name]:
            allowed = ", ".join(f"{s}://" for s in _REDIS_SCHEMES[name])
            raise ConfigError(f"{name} must be a URL starting with one of: {allowed}")
        if value is not None:
            check_port(name, urlsplit(value).netloc.rpartition("@")[2])
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
