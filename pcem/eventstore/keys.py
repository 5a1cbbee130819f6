"""Subjects' data keys: the rows of ``subject_keys``, and destroying them (erasure).

A subject is one aggregate: a person, one of their calendar entries (its row names the
person), or a user's settings. Destroying a key is the erasure: nothing that reads the
event store can open that subject's events again (docs/privacy.md). The keys destroyed
are dropped from this process's cache at once; other processes stop opening them within
``KEY_TTL_SECONDS``.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import Engine, text

from pcem.eventstore.keyring import PROCESS_KEYS, KeyCache

_DESTROY_PERSON = text(
    "UPDATE subject_keys SET wrapped_key = NULL, destroyed_at = now()"
    " WHERE user_id = :user_id AND (subject_id = :person_id OR person_id = :person_id)"
    " AND wrapped_key IS NOT NULL RETURNING subject_id"
)
_DESTROY_USER_BATCH = text(
    "UPDATE subject_keys SET wrapped_key = NULL, destroyed_at = now()"
    " WHERE subject_id IN (SELECT subject_id FROM subject_keys"
    "  WHERE user_id = :user_id AND wrapped_key IS NOT NULL LIMIT :limit)"
    " RETURNING subject_id"
)


class SubjectKeys:
    def __init__(self, engine: Engine, cache: KeyCache = PROCESS_KEYS) -> None:
        self.engine = engine
        self.cache = cache

    def destroy_person(self, user_id: str, person_id: UUID) -> int:
        """Destroy the keys of ``person_id`` (one of ``user_id``'s) and of their calendar
        entries; how many were destroyed now (0 when done before: safe to repeat)."""
        with self.engine.begin() as conn:
            params = {"user_id": user_id, "person_id": person_id}
            destroyed = list(conn.scalars(_DESTROY_PERSON, params))
        self.cache.forget(destroyed)
        return len(destroyed)

    def destroy_user(self, user_id: str, *, limit: int = 1000) -> int:
        """Destroy at most ``limit`` of ``user_id``'s keys in one transaction; how many
        (0: none left). Call until 0: each batch commits, so an interrupted erasure
        resumes where it stopped."""
        with self.engine.begin() as conn:
            params = {"user_id": user_id, "limit": limit}
            destroyed = list(conn.scalars(_DESTROY_USER_BATCH, params))
        self.cache.forget(destroyed)
        return len(destroyed)
