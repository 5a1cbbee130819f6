"""Session advisory locks: long work held by one process for as long as it runs.

A long job (an import, an account erasure) is held under a lock keyed by its kind
and id: a second delivery of its task finds it taken and leaves, and a process that
dies releases it with its connection, so the redelivered task resumes at once. The
tick's sweeps test the same key, ``hashtextextended('<kind>:' || id::text, 0)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

from sqlalchemy import Engine, text

_TRY = text("SELECT pg_try_advisory_lock(hashtextextended(:key, 0))")
_UNLOCK = text("SELECT pg_advisory_unlock(hashtextextended(:key, 0))")


@contextmanager
def held(engine: Engine, kind: str, job_id: UUID) -> Iterator[bool]:
    """Whether this run holds the job, released on leaving (or with the connection of a
    process that died)."""
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        params = {"key": f"{kind}:{job_id}"}
        taken = bool(conn.execute(_TRY, params).scalar())
        try:
            yield taken
        finally:
            if taken:
                conn.execute(_UNLOCK, params)
