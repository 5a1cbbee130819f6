"""``Idempotency-Key`` on POST: replay, conflict and in-flight detection.

The record of a keyed command is written by the event store recorder in the
same transaction as the command's events (see ``pcem.eventstore.recorder``),
so at most one request per user and key ever takes effect. This module adds
what HTTP clients see: the first answer replayed for a repeated request (within
24 h), 422 for the same key with a different body, and 409 while the first
request with that key is still being processed (a short Redis lock).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

import msgspec
import redis
import structlog
from sqlalchemy import Engine, text

from pcem.api.problems import FieldError, InvalidInputError
from pcem.commands.base import IdempotencyKey, IdempotencyKeyTakenError

log = structlog.get_logger(__name__)

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
_IN_FLIGHT_MS = 60_000
R = TypeVar("R")

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class StoredResult:
    aggregate_id: UUID
    aggregate_version: int
    result_id: UUID


class IdempotencyMismatchError(Exception):
    """The key was used before with a different request (422)."""

    def __init__(self) -> None:
        super().__init__("this Idempotency-Key was used with a different request")


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

    def run(
        self,
        user_id: str,
        header: str | None,
        fingerprint: str,
        execute: Callable[[IdempotencyKey | None], R],
        replay: Callable[[StoredResult], R],
    ) -> R:
        if header is None:
            return execute(None)
        key = IdempotencyKey(user_id, _valid_key(header), fingerprint)
        if (stored := self._find(key)) is not None:
            return replay(stored)
        with self._in_flight(key):
            try:
                return execute(key)
            except IdempotencyKeyTakenError:  # lost a race the lock did not see
                stored = self._find(key)
                if stored is None:
                    raise
                return replay(stored)

    def _find(self, key: IdempotencyKey) -> StoredResult | None:
        params = {"user_id": key.user_id, "key": key.key}
        with self.engine.begin() as conn:
            row = conn.execute(self.FIND, params).first()
            if row is None:
                conn.execute(self.PURGE_EXPIRED, params)
                return None
        if row.request_hash != key.request_hash:
            raise IdempotencyMismatchError()
        return StoredResult(row.aggregate_id, row.aggregate_version, row.result_id)

    def _in_flight(self, key: IdempotencyKey) -> _InFlightLock:
        return _InFlightLock(self, key)


class _InFlightLock:
    def __init__(self, idempotency: Idempotency, key: IdempotencyKey) -> None:
        digest = hashlib.sha256(key.key.encode()).hexdigest()
        self.name = f"pcem:idempotency:{key.user_id}:{digest}"
        self.token = secrets.token_hex(8)
        self.idempotency = idempotency
        self.held = False

    def __enter__(self) -> None:
        try:
            acquired = self.idempotency.client.set(self.name, self.token, nx=True, px=_IN_FLIGHT_MS)
        except redis.RedisError as error:
            # The database constraint still guarantees one effect per key.
            log.warning("idempotency.lock_unavailable", error=type(error).__name__)
            return
        if not acquired:
            raise IdempotencyInFlightError()
        self.held = True

    def __exit__(self, *_: object) -> None:
        if self.held:
            try:
                self.idempotency._release(keys=[self.name], args=[self.token])
            except redis.RedisError as error:
                log.warning("idempotency.release_failed", error=type(error).__name__)


def _valid_key(header: str) -> str:
    if not 1 <= len(header) <= MAX_KEY_LENGTH or "\x00" in header:
        raise InvalidInputError([FieldError(HEADER, f"must be 1..{MAX_KEY_LENGTH} characters")])
    return header
