"""Plain-text tables for the CLI: each column as wide as its widest cell, header included,
so a long projection name or a timestamp with microseconds never pushes a row askew."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

GAP = "  "


def table(
    header: Sequence[str], rows: Iterable[Sequence[object]], *, right: Collection[str] = ()
) -> list[str]:
    """The header line, then one line per row; columns named in ``right`` (numbers) are
    aligned to the right. No trailing spaces: the last column is not padded."""
    cells = [list(header), *([str(cell) for cell in row] for row in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(header))]
    on_right = [name in right for name in header]
    return [
        GAP.join(
            cell.rjust(width) if flush_right else cell.ljust(width)
            for cell, width, flush_right in zip(line, widths, on_right, strict=True)
        ).rstrip()
        for line in cells
    ]
