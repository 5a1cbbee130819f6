"""Read-your-writes across API replicas.

A command remembers, in Redis, the highest event position each user has
written. A query waits (at most 5 s, else 503) until the projections it reads
have reached the larger of that position and the client's ``PCEM-Min-Position``.
The client never has to sleep, and any replica sees the same position.
"""

from __future__ import annotations

import redis
import structlog

from pcem.api.problems import FieldError, InvalidInputError, ServiceUnavailableError
from pcem.projections.tracking import ProjectionTracking

log = structlog.get_logger(__name__)

MIN_POSITION_HEADER = "PCEM-Min-Position"
POSITION_HEADER = "PCEM-Position"
MAX_WAIT_SECONDS = 5.0
_REMEMBER_SECONDS = 3600
_MAX_POSITION = 2**63 - 1

# Raise the stored position, never lower it (two commands may finish out of order).
_RAISE_POSITION = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
    redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else
    redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 1
"""


class ReadYourWrites:
    def __init__(
        self,
        client: redis.Redis[bytes],
        tracking: ProjectionTracking,
        timeout: float = MAX_WAIT_SECONDS,
    ) -> None:
        self.client = client
        self.tracking = tracking
        self.timeout = timeout
        self._raise_position = client.register_script(_RAISE_POSITION)

    def remember(self, user_id: str, position: int) -> None:
        """Record a user's write; the write has committed, so a Redis outage only logs."""
        try:
            self._raise_position(keys=[_key(user_id)], args=[position, _REMEMBER_SECONDS])
        except redis.RedisError as error:
            log.warning("consistency.remember_failed", error=type(error).__name__)

    def wait(
        self, user_id: str, min_position_header: str | None, projections: tuple[str, ...]
    ) -> None:
        required = max(parse_min_position(min_position_header), self._last_write(user_id))
        if required and not self.tracking.wait_for(projections, required, self.timeout):
            raise ServiceUnavailableError(
                f"read models have not reached position {required} within {self.timeout:g} s"
            )

    def _last_write(self, user_id: str) -> int:
        try:
            value = self.client.get(_key(user_id))
        except redis.RedisError as error:
            log.warning("consistency.lookup_failed", error=type(error).__name__)
            return 0
        return int(value) if value else 0


def parse_min_position(value: str | None) -> int:
    if value is None:
        return 0
    if not value.strip().isdigit() or int(value) > _MAX_POSITION:
        raise InvalidInputError(
            [FieldError(MIN_POSITION_HEADER, "must be a non-negative integer event position")]
        )
    return int(value)


def _key(user_id: str) -> str:
    return f"pcem:ryw:{user_id}"
