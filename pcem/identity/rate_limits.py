"""Abuse limits: how many requests a minute each caller may make, counted in Redis.

A caller is the user of a valid bearer token (``PCEM_RATE_LIMIT_PER_MINUTE``),
else the client's address (``PCEM_RATE_LIMIT_ANON_PER_MINUTE``); a calendar feed's
fetches, which carry no bearer token, by address too, on a limit of their own
(``PCEM_RATE_LIMIT_FEED_PER_MINUTE``). Every API
replica counts in the same Redis, so a limit holds however many there are.

The counting is a fixed window (``limits``' items name the keys, as its Redis
storage does), in windows of the clock's minutes: one script increments the count
and sets its expiry, and the count and the minute's end give the IETF headers too,
where ``FixedWindowRateLimiter.hit`` (a window from each key's first hit, a bool)
would need two more trips for them. The same round trip reads any keys the request
will need next (``peek``: read-your-writes' position of the user), so a query pays
Redis once. When Redis cannot answer, callers go on unlimited (commands must not
fail with it), and the outage is logged once.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis
import redis.asyncio
import structlog
from limits import RateLimitItem, RateLimitItemPerMinute

from pcem.settings import RateLimitSettings

log = structlog.get_logger(__name__)

WINDOW_SECONDS = 60
USER, ANONYMOUS, FEED = "user", "anonymous", "feed"  # the policies' names in the headers
_PREFIX = "LIMITS:"  # as limits' Redis storage names its keys: replicas of old and new agree

# KEYS[1] the caller's count in this window, KEYS[2..] read as they are; ARGV[1] expiry.
_COUNT_AND_PEEK = """
local used = redis.call('INCRBY', KEYS[1], 1)
if used == 1 then
    redis.call('EXPIRE', KEYS[1], ARGV[1])
end
local answer = {used}
for i = 2, #KEYS do
    answer[i] = redis.call('GET', KEYS[i])
end
return answer
"""


@dataclass(frozen=True, slots=True)
class Quota:
    """One caller's standing in the current window, this request counted."""

    policy: str
    limit: int
    used: int
    reset_seconds: int  # until the window ends, at least 1

    # What the same round trip read of ``RateLimits.count``'s ``peek`` keys.
    peeked: tuple[bytes | None, ...] = ()

    @property
    def exceeded(self) -> bool:
        return self.used > self.limit

    def headers(self) -> dict[str, str]:
        remaining = max(0, self.limit - self.used)
        return {
            "RateLimit-Policy": f'"{self.policy}";q={self.limit};w={WINDOW_SECONDS}',
            "RateLimit": f'"{self.policy}";r={remaining};t={self.reset_seconds}',
        }


class RateLimits:
    """Counts callers' requests in Redis, shared by every replica."""

    def __init__(
        self,
        client: redis.asyncio.Redis[bytes],
        settings: RateLimitSettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._count_and_peek = client.register_script(_COUNT_AND_PEEK)
        self._items: dict[str, RateLimitItem] = {
            USER: RateLimitItemPerMinute(settings.per_user_per_minute),
            ANONYMOUS: RateLimitItemPerMinute(settings.anonymous_per_minute),
            FEED: RateLimitItemPerMinute(settings.feed_per_minute),
        }
        self._clock = clock
        self._available = True

    async def count(self, policy: str, caller: str, *peek: str) -> Quota | None:
        """Count one request of ``caller``, reading the ``peek`` keys in the same round
        trip; None when Redis cannot say."""
        item = self._items[policy]
        now = self._clock()
        window = int(now // WINDOW_SECONDS)
        key = _PREFIX + item.key_for(policy, caller, str(window))
        try:
            used, *peeked = await self._count_and_peek(keys=[key, *peek], args=[item.get_expiry()])
        except redis.RedisError as error:
            self._unavailable(error)
            return None
        if not self._available:
            self._available = True
            log.info("rate_limit.available")
        reset = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
        return Quota(policy, item.amount, int(used), reset, tuple(peeked))

    def _unavailable(self, error: redis.RedisError) -> None:
        if self._available:  # once an outage, not once a request
            self._available = False
            log.warning("rate_limit.unavailable", error=type(error).__name__, limits="off")
