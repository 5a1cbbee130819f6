"""Fast row writes for projection handlers, pipelined within a batch.

A handler that only changes rows should call ``write(conn, STATEMENT, params)``
rather than ``conn.execute``: the statement goes straight to psycopg on one
cursor reused for the batch, with positional parameters, prepared server-side
(psycopg prepares a statement from its fifth use) and - inside a batch - in
pipeline mode, so the runner never waits for a round trip per event.
``conn.execute`` costs ~50 µs of Python per call plus a round trip: with it,
a replay managed 2,600 events/s (docs/performance.md).

``write`` takes a ``text()`` statement with named parameters, typed where
needed with ``bindparams`` (JSONB), exactly as ``conn.execute`` would. It
returns nothing: reads (and anything whose result matters) go through
``conn.execute``, which still works inside a batch (psycopg syncs the pipeline
first). A write's error surfaces when the pipeline syncs, not at the call; the
batch then re-runs unpipelined to find the failing event (``batches.py``).

Even pipelined, one statement per row costs ~50 µs of Python and as much again
in PostgreSQL (executor start-up for a single row). A handler whose rows can be
folded may instead record them in a :class:`Deferred` change set of the batch
(``deferred(conn, Kind)``), which writes them with a few set-based statements
when it is flushed: before any other ``write`` or ``read`` of the batch (so
every statement still sees every earlier event's rows), and at the batch's end.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar, cast

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy import Connection, TextClause
from sqlalchemy.dialects.postgresql import psycopg as psycopg_dialect

from pcem.database.connections import driver_connection

_CURSOR_KEY = "pcem.projection_write_cursor"
_DEFERRED_KEY = "pcem.projection_deferred_writes"

# Positional parameters: psycopg then need not map names to places on every call.
_POSITIONAL = psycopg_dialect.dialect(paramstyle="format")  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class _Plan:
    sql: str
    binds: tuple[tuple[str, Callable[[Any], Any] | None], ...]  # in placeholder order

    def values(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(params[n] if p is None else p(params[n]) for n, p in self.binds)


class Deferred(Protocol):
    """Changes a batch's handlers record now and write later, all at once."""

    # Flushed in this order: a change set whose rows others reference or read
    # comes first (people before renaming their occurrences).
    rank: ClassVar[int]

    def __init__(self) -> None: ...

    def flush(self, cursor: psycopg.Cursor[Any]) -> None:
        """Write the recorded changes; the change set is dropped afterwards."""


D = TypeVar("D", bound=Deferred)


def write(conn: Connection, statement: TextClause, params: Mapping[str, Any]) -> None:
    plan = _plan(statement)
    cursor = _cursor(conn)
    _flush_pending(conn, cursor)
    cursor.execute(plan.sql, plan.values(params))


def write_many(
    conn: Connection, statement: TextClause, params: Sequence[Mapping[str, Any]]
) -> None:
    """``write`` for many rows at once (psycopg's executemany)."""
    if not params:
        return
    plan = _plan(statement)
    cursor = _cursor(conn)
    _flush_pending(conn, cursor)
    cursor.executemany(plan.sql, [plan.values(p) for p in params])


def read(conn: Connection, statement: TextClause, params: Mapping[str, Any]) -> list[Any]:
    """The rows (named tuples) of a query, also inside a pipelined batch, where a
    SQLAlchemy result cannot see them (psycopg fetches once the pipeline syncs)."""
    plan = _plan(statement)
    _flush_pending(conn, _cursor(conn))
    with driver_connection(conn).cursor(row_factory=namedtuple_row) as cursor:
        cursor.execute(plan.sql, plan.values(params))
        return cursor.fetchall()


@contextmanager
def pipelined(conn: Connection) -> Iterator[None]:
    """Send the statements issued inside without waiting for each result."""
    with driver_connection(conn).pipeline():
        yield


@contextmanager
def deferring(conn: Connection) -> Iterator[None]:
    """Within the block, handlers may record deferred changes; they are written when
    the block ends normally (and dropped with the transaction if it does not)."""
    conn.info[_DEFERRED_KEY] = {}
    try:
        yield
        flush_deferred(conn)
    finally:
        del conn.info[_DEFERRED_KEY]


def deferred(conn: Connection, kind: type[D]) -> D:
    """The batch's change set of this kind, started on first use."""
    pending: dict[type[Deferred], Deferred] | None = conn.info.get(_DEFERRED_KEY)
    if pending is None:
        raise RuntimeError("deferred changes are recorded only while applying a batch")
    changes = pending.get(kind)
    if changes is None:
        changes = pending[kind] = kind()
    return cast(D, changes)


def flush_deferred(conn: Connection) -> None:
    """Write every change recorded so far (a batch applied one event at a time does
    this after each event, so an error names the event that caused it)."""
    _flush_pending(conn, _cursor(conn))


def _flush_pending(conn: Connection, cursor: psycopg.Cursor[Any]) -> None:
    pending: dict[type[Deferred], Deferred] | None = conn.info.get(_DEFERRED_KEY)
    if not pending:
        return
    changes = sorted(pending.values(), key=lambda c: c.rank)
    pending.clear()
    for change in changes:
        change.flush(cursor)


@functools.lru_cache(maxsize=512)
def _plan(statement: TextClause) -> _Plan:
    compiled = statement.compile(dialect=_POSITIONAL)
    binds = []
    for name in compiled.positiontup or ():
        bind = compiled.binds[name]
        if bind.expanding:
            raise TypeError("write() does not take expanding (IN-list) parameters")
        binds.append((name, bind.type.dialect_impl(_POSITIONAL).bind_processor(_POSITIONAL)))
    return _Plan(compiled.string, tuple(binds))


def _cursor(conn: Connection) -> psycopg.Cursor[Any]:
    """One cursor per database connection (a new cursor per call costs as much as the call)."""
    raw = driver_connection(conn)
    cursor: psycopg.Cursor[Any] | None = conn.info.get(_CURSOR_KEY)
    if cursor is None or cursor.closed or cursor.connection is not raw:
        cursor = conn.info[_CURSOR_KEY] = raw.cursor()
    return cursor
