"""Session advisory locks: which process works on a tracking row.

A holder keeps its own connection open for as long as it works; when the
process dies, PostgreSQL closes the connection and releases the lock, so
another process can take over. ``projections status`` shows each holder by
the ``application_name`` of that connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from pcem.database.connections import DEAD_CLIENT_OPTIONS, application_name

TRY_LOCK = "SELECT pg_try_advisory_lock(hashtext('pcem.projection'), hashtext(%s))"


@contextmanager
def holding(dsn: str, tracking_name: str, role: str) -> Iterator[psycopg.Connection[Any] | None]:
    """A connection holding the lock on ``tracking_name``, or None if another holds it."""
    # A lock held by a host that is gone is released when the server drops its session.
    name = application_name(role)
    with psycopg.connect(
        dsn, autocommit=True, application_name=name, options=DEAD_CLIENT_OPTIONS
    ) as conn:
        row = conn.execute(TRY_LOCK, (tracking_name,)).fetchone()
        yield conn if row and row[0] else None
