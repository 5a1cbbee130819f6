"""Who may call and how often: bearer tokens (``PCEM_JWT_*``) and the abuse limits
(``PCEM_RATE_LIMIT_*``, ``PCEM_TRUSTED_PROXIES``)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pcem.settings.values import ConfigError, count, optional

MAX_RATE_PER_MINUTE = 10_000_000


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
class RateLimitSettings:
    """Abuse limits: requests a minute per caller, and whose forwarded address counts."""

    per_user_per_minute: int = 600  # PCEM_RATE_LIMIT_PER_MINUTE: a valid token's user
    anonymous_per_minute: int = 60  # PCEM_RATE_LIMIT_ANON_PER_MINUTE: a client address
    feed_per_minute: int = 30  # PCEM_RATE_LIMIT_FEED_PER_MINUTE: calendar feed fetches, an address
    trusted_proxies: tuple[str, ...] = ()  # PCEM_TRUSTED_PROXIES: X-Forwarded-For from these


def jwt_from(env: Mapping[str, str]) -> JWTSettings:
    jwks_file = optional(env, "PCEM_JWT_JWKS_FILE")
    if jwks_file is not None and not Path(jwks_file).is_file():
        raise ConfigError(f"PCEM_JWT_JWKS_FILE points to a missing file: {jwks_file}")
    public_key = optional(env, "PCEM_JWT_PUBLIC_KEY")
    if public_key is not None and "-----BEGIN PUBLIC KEY-----" not in public_key:
        raise ConfigError(
            "PCEM_JWT_PUBLIC_KEY must be a PEM public key (-----BEGIN PUBLIC KEY-----)"
        )
    secret = optional(env, "PCEM_JWT_SECRET")
    if secret is not None and len(secret) < 32:
        raise ConfigError("PCEM_JWT_SECRET must be at least 32 characters long")
    return JWTSettings(
        secret=secret,
        public_key=public_key,
        jwks_file=Path(jwks_file) if jwks_file else None,
        issuer=optional(env, "PCEM_JWT_ISSUER"),
        audience=optional(env, "PCEM_JWT_AUDIENCE"),
    )


def rate_limits_from(env: Mapping[str, str]) -> RateLimitSettings:
    defaults = RateLimitSettings()
    return RateLimitSettings(
        per_user_per_minute=count(
            env, "PCEM_RATE_LIMIT_PER_MINUTE", defaults.per_user_per_minute, MAX_RATE_PER_MINUTE, 1
        ),
        anonymous_per_minute=count(
            env,
            "PCEM_RATE_LIMIT_ANON_PER_MINUTE",
            defaults.anonymous_per_minute,
            MAX_RATE_PER_MINUTE,
            1,
        ),
        feed_per_minute=count(
            env,
            "PCEM_RATE_LIMIT_FEED_PER_MINUTE",
            defaults.feed_per_minute,
            MAX_RATE_PER_MINUTE,
            1,
        ),
        trusted_proxies=_trusted_proxies(optional(env, "PCEM_TRUSTED_PROXIES")),
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
