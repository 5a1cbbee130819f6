"""Development tokens, signed with ``PCEM_JWT_SECRET`` (HS256)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import jwt

from pcem.settings import ConfigError, JWTSettings

_TTL = re.compile(r"^(?P<amount>[1-9]\d*)(?P<unit>[smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_ttl(value: str) -> timedelta:
    """``90s``, ``15m``, ``1h`` or ``7d``."""
    match = _TTL.match(value.strip())
    if not match:
        raise ValueError(f"{value!r} is not a duration like 90s, 15m, 1h or 7d")
    return timedelta(**{_UNITS[match["unit"]]: int(match["amount"])})


def mint_token(
    settings: JWTSettings, user_id: str, *, roles: tuple[str, ...] = (), ttl: timedelta
) -> str:
    if not settings.secret:
        raise ConfigError("PCEM_JWT_SECRET is not set; development tokens are HS256-signed with it")
    now = datetime.now(UTC)
    claims: dict[str, object] = {"sub": user_id, "iat": now, "exp": now + ttl}
    if roles:
        claims["roles"] = list(roles)
    if settings.issuer:
        claims["iss"] = settings.issuer
    if settings.audience:
        claims["aud"] = settings.audience
    return jwt.encode(claims, settings.secret, algorithm="HS256")
