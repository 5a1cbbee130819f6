"""Calendar feed tokens: the secret in a feed's URL is the credential that names its user.

A token is 256 random bits, shown once (when made) and kept only as its SHA-256: a
token that long needs no slow key derivation, since nobody can guess one to test
against the hash. A fetch finds its row by the hash (an index lookup, so the secret is
never compared byte by byte in SQL), and the hash found is compared again in constant
time. Each user has at most one row: a new token replaces the old in one statement,
and revoking deletes it, so either takes effect for the very next fetch.

Async, on the API's pool. Looking a token up and changing the row run as the owner (a
fetch has no user yet; ``pcem_api`` may only read); the status is read as the user.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from psycopg_pool import AsyncConnectionPool

from pcem.database.row_security import AsUser

TOKEN_BYTES = 32  # 256 bits; the contract asks for at least 128
# What token_urlsafe(32) makes: anything else is not a token, and costs no query.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")
# A fetch records its time only when the last one recorded is older: a client polling
# every few seconds then costs one write a minute, not one a fetch.
TOUCH_SECONDS = 60


@dataclass(frozen=True)
class FeedStatus:
    created_at: datetime
    last_fetched_at: datetime | None


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class CalendarFeeds:
    CREATE = (
        "INSERT INTO calendar_feeds (user_id, token_hash, created_at) VALUES (%s, %s, now())"
        " ON CONFLICT (user_id) DO UPDATE SET token_hash = excluded.token_hash,"
        " created_at = excluded.created_at, last_fetched_at = NULL RETURNING created_at"
    )
    REVOKE = "DELETE FROM calendar_feeds WHERE user_id = %s RETURNING 1"
    STATUS = "SELECT created_at, last_fetched_at FROM calendar_feeds WHERE user_id = %(user_id)s"
    # One statement: the lookup, and the fetch's time when the last one is old enough.
    OWNER = (
        "WITH found AS (SELECT user_id, token_hash, last_fetched_at FROM calendar_feeds"
        " WHERE token_hash = %(hash)s),"
        " touched AS (UPDATE calendar_feeds c SET last_fetched_at = now() FROM found"
        " WHERE c.user_id = found.user_id AND (found.last_fetched_at IS NULL"
        " OR found.last_fetched_at < now() - make_interval(secs => %(touch)s)) RETURNING 1)"
        " SELECT user_id, token_hash FROM found"
    )

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._as_user = AsUser(pool)

    async def create(self, user_id: str) -> tuple[str, datetime]:
        """A new token for ``user_id`` (any earlier one stops working), and when it was made."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        [(created_at,)] = await self._as_user.as_owner(self.CREATE, (user_id, token_hash(token)))
        return token, created_at

    async def revoke(self, user_id: str) -> bool:
        """Whether ``user_id`` had a feed (it has none now)."""
        return bool(await self._as_user.as_owner(self.REVOKE, (user_id,)))

    async def status(self, user_id: str) -> FeedStatus | None:
        rows = await self._as_user.fetchall(user_id, self.STATUS, {"user_id": user_id})
        return FeedStatus(*rows[0]) if rows else None

    async def owner(self, token: str) -> str | None:
        """The user whose live feed ``token`` opens, or None; a found fetch is recorded."""
        if not _TOKEN_SHAPE.fullmatch(token):
            return None
        digest = token_hash(token)
        rows = await self._as_user.as_owner(self.OWNER, {"hash": digest, "touch": TOUCH_SECONDS})
        if not rows or not hmac.compare_digest(bytes(rows[0][1]), digest):
            return None
        return str(rows[0][0])
