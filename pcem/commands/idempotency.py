"""Idempotent commands: one effect per user and ``Idempotency-Key``.

The record of a keyed command is written by the event store recorder in the
same transaction as the command's events (see ``pcem.eventstore.recorder``),
so at most one request per user and key ever takes effect. The key reaches
the save through a context variable (``current_key``), set by whoever
received it, so use cases never pass it along. This module also answers what
a repeated request needs: the stored result to replay (within 24 h), a
mismatch for the same key with a different request, and "in flight" while
the first request with that key is still being processed (a short Redis lock).
"""

from __future__ import annotations

import hashlib
import secrets
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import msgspec
import redis
import structlog
from sqlalchemy import Engine, text

from pcem.aggregates.text_rules import NO_NUL
from pcem.eventstore.recorder import IdempotencyRecord

log = structlog.get_logger(__name__)

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
_IN_FLIGHT_MS = 60_000
IN_FLIGHT_RETRY_SECONDS = 1

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class IdempotencyKey:
    """A client's ``Idempotency-Key`` and the hash of the request it came with."""

    user_id: str
    key: str
    request_hash: str

    def record(self, aggregate_id: UUID, version: int, result_id: UUID) -> IdempotencyRecord:
        return IdempotencyRecord(
            self.user_id, self.key, self.request_hash, aggregate_id, version, result_id
        )


# The key of the command being handled in this context, if its request had one.
current_key: ContextVar[IdempotencyKey | None] = ContextVar("pcem_idempotency_key", default=None)


@dataclass(frozen=True)
class StoredResult:
    aggregate_id: UUID
    aggregate_version: int
    result_id: UUID


class IdempotencyMismatchError(Exception):
    """The key was used before with a different request (422)."""

    def __init__(self) -> None:
        super().__init__("this Idempotency-Key was used with a different request")


class InvalidIdempotencyKeyError(ValueError):
    def __init__(self) -> None:
        super().__init__(f"must be 1..{MAX_KEY_LENGTH} characters, without NUL")


class IdempotencyInFlightError(Exception):
    """A request with this key is still being processed (409)."""

    def __init__(self) -> None:
        super().__init__("a request with this Idempotency-Key is still in progress; retry shortly")


def request_fingerprint(operation: str, path: str, body: Any) -> str:
    """A hash of what makes two requests "the same": route, path and JSON body."""
    canonical = msgspec.json.encode([operation, path, msgspec.to_builtins(body)], order="sorted")
    return hashlib.sha256(canonical).hexdigest()


class Idempotency:
    FIND = text(
        "SELECT request_hash, aggregate_id, aggregate_version, result_id FROM idempotency_keys"
        " WHERE user_id = :user_id AND key = :key AND created_at > now() - interval '24 hours'"
    )
    PURGE_EXPIRED = text(
        "DELETE FROM idempotency_keys"
        " WHERE user_id = :user_id AND key = :key AND created_at <= now() - interval '24 hours'"
    )

    def __init__(self, engine: Engine, client: redis.Redis[bytes]) -> None:
        self.engine = engine
        self.client = client
        self._release = client.register_script(_RELEASE)

    def claim(self, user_id: str, header: str, fingerprint: str) -> StoredResult | Claim:
        """The result to replay if this key already took effect; otherwise the key,
        held against concurrent requests with it until the claim is released."""
        key = IdempotencyKey(user_id, valid_key(header), fingerprint)
        return self.stored(key) or Claim(self, key).acquire()

    def stored(self, key: IdempotencyKey) -> StoredResult | None:
        """What ``key`` produced, if it took effect (a mismatch if with another request)."""
        params = {"user_id": key.user_id, "key": key.key}
        with self.engine.begin() as conn:
            row = conn.execute(self.FIND, params).first()
            if row is None:
                conn.execute(self.PURGE_EXPIRED, params)
                return None
        if row.request_hash != key.request_hash:
            raise IdempotencyMismatchError()
        return StoredResult(row.aggregate_id, row.aggregate_version, row.result_id)


class Claim:
    """A key being processed: a short Redis lock, so a concurrent duplicate is told
    to retry instead of racing (the database constraint decides if Redis is down)."""

    def __init__(self, idempotency: Idempotency, key: IdempotencyKey) -> None:
        digest = hashlib.sha256(key.key.encode()).hexdigest()
        self.name = f"pcem:idempotency:{key.user_id}:{digest}"
        self.token = secrets.token_hex(8)
        self.idempotency = idempotency
        self.key = key
        self.held = False

    def acquire(self) -> Claim:
        try:
            acquired = self.idempotency.client.set(self.name, self.token, nx=True, px=_IN_FLIGHT_MS)
        except redis.RedisError as error:
            # The database constraint still guarantees one effect per key.
            log.warning("idempotency.lock_unavailable", error=type(error).__name__)
            return self
        if not acquired:
            raise IdempotencyInFlightError()
        self.held = True
        return self

    def release(self) -> None:
        if self.held:
            self.held = False
            try:
                self.idempotency._release(keys=[self.name], args=[self.token])
            except redis.RedisError as error:
                log.warning("idempotency.release_failed", error=type(error).__name__)


def valid_key(header: str) -> str:
    if not 1 <= len(header) <= MAX_KEY_LENGTH or not NO_NUL.matches(header):
        raise InvalidIdempotencyKeyError()
    return header
