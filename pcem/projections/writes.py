"""Fast row writes for projection handlers, pipelined within a batch.

A handler that only changes rows should call ``write(conn, STATEMENT, params)``
rather than ``conn.execute``: the statement goes straight to psycopg on one
cursor reused for the batch, prepared server-side, and - inside a batch - in
pipeline mode, so the runner never waits for a round trip per event.
``conn.execute`` costs ~50 µs of Python per call and a round trip; alone it caps
a rebuild near 3,000 events/s (docs/performance.md).

``write`` takes a ``text()`` statement with named parameters, typed where
needed with ``bindparams`` (JSONB), exactly as ``conn.execute`` would. It
returns nothing: reads (and anything whose result matters) go through
``conn.execute``, which still works inside a batch (psycopg syncs the pipeline
first). A write's error surfaces when the pipeline syncs, not at the call; the
batch then re-runs unpipelined to find the failing event (``batches.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy import Connection, Dialect, TextClause

_CURSOR_KEY = "pcem.projection_write_cursor"


@dataclass(frozen=True)
class _Plan:
    sql: str
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]


def write(conn: Connection, statement: TextClause, params: Mapping[str, Any]) -> None:
    plan = _plan(statement, conn.dialect)
    _cursor(conn).execute(plan.sql, _processed(plan, params), prepare=True)


def read(conn: Connection, statement: TextClause, params: Mapping[str, Any]) -> list[Any]:
    """The rows (named tuples) of a query, also inside a pipelined batch, where a
    SQLAlchemy result cannot see them (psycopg fetches once the pipeline syncs)."""
    plan = _plan(statement, conn.dialect)
    with _driver_connection(conn).cursor(row_factory=namedtuple_row) as cursor:
        cursor.execute(plan.sql, _processed(plan, params), prepare=True)
        return cursor.fetchall()


def _processed(plan: _Plan, params: Mapping[str, Any]) -> dict[str, Any]:
    values = dict(params)
    for name, process in plan.processors:
        if name in values:
            values[name] = process(values[name])
    return values


@contextmanager
def pipelined(conn: Connection) -> Iterator[None]:
    """Send the statements issued inside without waiting for each result."""
    with _driver_connection(conn).pipeline():
        yield


@functools.lru_cache(maxsize=512)
def _plan(statement: TextClause, dialect: Dialect) -> _Plan:
    compiled = statement.compile(dialect=dialect)
    processors = []
    for name, bind in compiled.binds.items():
        if bind.expanding:
            raise TypeError("write() does not take expanding (IN-list) parameters")
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors.append((name, process))
    return _Plan(compiled.string, tuple(processors))


def _cursor(conn: Connection) -> psycopg.Cursor[Any]:
    """One cursor per database connection (a new cursor per call costs as much as the call)."""
    raw = _driver_connection(conn)
    cursor: psycopg.Cursor[Any] | None = conn.info.get(_CURSOR_KEY)
    if cursor is None or cursor.closed or cursor.connection is not raw:
        cursor = conn.info[_CURSOR_KEY] = raw.cursor()
    return cursor


def _driver_connection(conn: Connection) -> psycopg.Connection[Any]:
    return cast("psycopg.Connection[Any]", conn.connection.driver_connection)
