"""What a projection error was, in words that carry no personal data.

A database error's message and DETAIL quote the row they were about (a
person's name in a unique violation's DETAIL, a value in "invalid input
syntax"), and a handler's exception may quote an event's fields. Logs and
``projections status`` get only the error's class, and for a database error
its SQLSTATE and the constraint, table and column; for any other error, the
line of PCEM's code that raised it. The event's position is recorded beside.
"""

from __future__ import annotations

import traceback
from pathlib import Path

import psycopg

_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


def error_summary(error: BaseException) -> str:
    database_error = _database_error(error)
    if database_error is not None:
        return _database_summary(database_error)
    return f"{type(error).__name__}{_raised_at(error)}"


def _database_error(error: BaseException) -> psycopg.Error | None:
    current: BaseException | None = error
    for _ in range(10):  # the psycopg error under SQLAlchemy's or eventsourcing's wrapper
        if current is None:
            return None
        if isinstance(current, psycopg.Error):
            return current
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return None


def _database_summary(error: psycopg.Error) -> str:
    diag = error.diag
    parts = [type(error).__name__, f"SQLSTATE {error.sqlstate or '?'}"]
    for label, name in (
        ("constraint", diag.constraint_name),
        ("table", diag.table_name),
        ("column", diag.column_name),
    ):
        if name:
            parts.append(f"{label} {name}")
    return ", ".join(parts)


def _raised_at(error: BaseException) -> str:
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if frame.filename.startswith(str(_PACKAGE_ROOT / "pcem"))
    ]
    if not frames:
        return ""
    last = frames[-1]
    return f" at {Path(last.filename).relative_to(_PACKAGE_ROOT)}:{last.lineno} ({last.name})"
