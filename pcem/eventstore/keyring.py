"""Subjects' data keys, opened: wrapped by the master key, fetched from ``subject_keys``
and kept a short while in memory.

Every aggregate (subject) has a random AES-256 data key; its row in ``subject_keys``
holds it wrapped (AES-GCM) by ``PCEM_MASTER_KEY``, bound to the subject's id so a
wrapped key cannot be moved to another subject. A key is in one of three states:
live, destroyed (erased: its events read as ``ErasedEvent``) or absent (a subject
written before encryption, whose events are still in clear until ``pcem events
encrypt`` seals them).
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Final
from uuid import UUID

import psycopg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12
DATA_KEY_BITS = 256
_WRAP_CONTEXT = b"pcem subject key "

# A process keeps at most MAX_OPEN_KEYS opened keys (about 1 KB each with the AESGCM
# object and the LRU's bookkeeping: ~4 MB at most), enough for a rebuild batch's
# subjects and an API process's working set; each for KEY_TTL_SECONDS, so a key
# destroyed by another process stops opening events here within that time (the
# tombstone of a purge hides the aggregate at once; this bounds what a replay can
# still open). A miss costs one indexed query (a batch prefetches its keys in one).
MAX_OPEN_KEYS = 4096
KEY_TTL_SECONDS = 10.0


class Destroyed:
    """The subject's key was destroyed: its sealed events are erased."""


class Absent:
    """No key row: a subject stored in clear before encryption (or never)."""


DESTROYED: Final = Destroyed()
ABSENT: Final = Absent()
KeyState = AESGCM | Destroyed | Absent

Connect = Callable[[], AbstractContextManager["psycopg.Connection[Any]"]]


class WrongMasterKeyError(Exception):
    """A wrapped key does not open with this master key."""


class MasterKey:
    """``PCEM_MASTER_KEY``: wraps and unwraps data keys, never stores anything."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def wrap(self, subject_id: UUID, data_key: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, data_key, _WRAP_CONTEXT + subject_id.bytes)

    def unwrap(self, subject_id: UUID, wrapped: bytes) -> bytes:
        try:
            return self._aead.decrypt(
                wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _WRAP_CONTEXT + subject_id.bytes
            )
        except InvalidTag:
            raise WrongMasterKeyError(f"the key of subject {subject_id} does not open") from None

    def seal(self, value: bytes, context: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, value, context)

    def opens(self, sealed: bytes, context: bytes) -> bool:
        try:
            self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context)
        except InvalidTag:
            return False
        return True


class KeyCache:
    """A bounded, thread-safe LRU of opened keys, each kept ``ttl`` seconds."""

    def __init__(self, maxsize: int = MAX_OPEN_KEYS, ttl: float = KEY_TTL_SECONDS) -> None:
        self.maxsize = maxsize
        self.ttl = ttl
        self._entries: OrderedDict[UUID, tuple[float, KeyState]] = OrderedDict()
        self._lock = threading.Lock()
        # The last subject asked for, read without the lock (one tuple, replaced whole):
        # a replay or an aggregate's load asks for the same subject many times running.
        self._last: tuple[UUID | None, float, KeyState] = (None, 0.0, ABSENT)

    def get(self, subject_id: UUID) -> KeyState | None:
        last_id, expires, state = self._last
        if last_id == subject_id and expires >= time.monotonic():
            return state
        with self._lock:
            entry = self._entries.get(subject_id)
            if entry is None:
                return None
            expires, state = entry
            if expires < time.monotonic():
                del self._entries[subject_id]
                return None
            self._entries.move_to_end(subject_id)
            self._last = (subject_id, expires, state)
            return state

    def put(self, subject_id: UUID, state: KeyState) -> None:
        with self._lock:
            if self._last[0] == subject_id:
                self._last = (None, 0.0, ABSENT)
            self._entries[subject_id] = (time.monotonic() + self.ttl, state)
            self._entries.move_to_end(subject_id)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)

    def forget(self, subject_ids: Iterable[UUID]) -> None:
        with self._lock:
            self._last = (None, 0.0, ABSENT)
            for subject_id in subject_ids:
                self._entries.pop(subject_id, None)

    def __len__(self) -> int:
        return len(self._entries)


# One per process: every application's mapper shares it, and destroying keys in this
# process drops them from it at once (``SubjectKeys``).
PROCESS_KEYS = KeyCache()


@dataclass(frozen=True)
class NewKey:
    """A subject's key made with its first event, to insert in the same transaction."""

    subject_id: UUID
    user_id: str
    person_id: UUID | None
    wrapped_key: bytes


_SELECT_KEYS = "SELECT subject_id, wrapped_key FROM subject_keys WHERE subject_id = ANY(%s)"


class KeyRing:
    """The data keys of subjects, opened on demand (``connect``: the event store's pool)."""

    def __init__(self, master: MasterKey, connect: Connect, cache: KeyCache = PROCESS_KEYS):
        self.master = master
        self.connect = connect
        self.cache = cache

    def create(
        self, subject_id: UUID, user_id: str, person_id: UUID | None
    ) -> tuple[AESGCM, NewKey]:
        """A new data key for a subject (not cached: it exists once its row commits)."""
        data_key = AESGCM.generate_key(bit_length=DATA_KEY_BITS)
        wrapped = self.master.wrap(subject_id, data_key)
        return AESGCM(data_key), NewKey(subject_id, user_id, person_id, wrapped)

    def state(self, subject_id: UUID) -> KeyState:
        """The subject's key, destroyed or absent: from the cache, else one query."""
        state = self.cache.get(subject_id)
        if state is None:
            state = self._fetch([subject_id])[subject_id]
        return state

    def prefetch(self, subject_ids: Iterable[UUID]) -> None:
        """Open in one query the keys of ``subject_ids`` that are not cached (a batch)."""
        missing = {s for s in subject_ids if self.cache.get(s) is None}
        if missing:
            self._fetch(list(missing))

    def remember(self, new_keys: Iterable[tuple[UUID, AESGCM]]) -> None:
        """Keys whose rows have just committed (saves the next read a query)."""
        for subject_id, aead in new_keys:
            self.cache.put(subject_id, aead)

    def _fetch(self, subject_ids: list[UUID]) -> dict[UUID, KeyState]:
        with self.connect() as conn:
            rows = conn.execute(_SELECT_KEYS, (subject_ids,)).fetchall()
        found: dict[UUID, KeyState] = dict.fromkeys(subject_ids, ABSENT)
        for row in rows:
            subject_id, wrapped = _columns(row)
            found[subject_id] = (
                DESTROYED
                if wrapped is None
                else AESGCM(self.master.unwrap(subject_id, bytes(wrapped)))
            )
        for subject_id, state in found.items():
            self.cache.put(subject_id, state)
        return found


def _columns(row: Any) -> tuple[UUID, bytes | None]:
    """A row of the event store's pool (dict rows) or of a plain connection (tuples)."""
    if isinstance(row, dict):
        return row["subject_id"], row["wrapped_key"]
    return row[0], row[1]
