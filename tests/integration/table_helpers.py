"""Checking a CLI table as a reader sees it: every row's cells under their heading."""

from __future__ import annotations

from collections.abc import Sequence


def assert_aligned(
    lines: Sequence[str], *, left: Sequence[str] = (), right: Sequence[str] = ()
) -> None:
    """``lines[0]`` is the header: a ``left`` column's cells start where its heading
    starts, a ``right`` column's cells end where its heading ends."""
    header, rows = lines[0], lines[1:]
    assert rows, "a table with no rows shows nothing about its alignment"
    for name in left:
        start = header.index(name)
        for row in rows:
            assert row[start] != " " and (start == 0 or row[start - 1] == " "), (name, row)
    for name in right:
        end = header.index(name) + len(name)
        for row in rows:
            assert row[end - 1] != " " and row[end : end + 1] in ("", " "), (name, row)
