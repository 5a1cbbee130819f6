"""Google Contacts' and Outlook's CSV exports, read into contacts.

The first non-blank row is the header; each later non-blank row is one contact,
"row N" counting data rows from 1 (blank rows keep their number, so row N is the
spreadsheet's line N + 1 when nothing is quoted over several lines). The separator
is the header's most frequent of comma, semicolon (Outlook where the decimal mark is
a comma) and tab. What each column means is ``csv_columns``'s.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from pcem.contacts.charsets import decode_file
from pcem.contacts.csv_columns import NAME_COLUMNS, fill
from pcem.contacts.draft import Draft
from pcem.contacts.model import BadRecord, Contact

Row = list[str] | csv.Error  # a row, or why it could not be read


def read_csv(data: bytes) -> Iterator[Contact | BadRecord]:
    """Every data row of ``data``, in order: a contact, or a bad record saying why not."""
    header, rows = _table(data)
    for number, row in rows:
        record = f"row {number}"
        if isinstance(row, csv.Error):
            yield BadRecord(record, f"cannot be read as CSV ({row})")
            continue
        try:
            draft = Draft()
            fill(draft, header, row)
            yield draft.finish(record)
        except Exception as error:  # a bug of ours on one odd row must not lose the file
            yield BadRecord(record, f"could not be read ({error!r})")


def count_csv(data: bytes) -> int:
    """How many records ``read_csv`` gives."""
    return sum(1 for _ in _table(data)[1])


def looks_like_contacts_csv(data: bytes) -> bool:
    """Whether ``data`` starts with a header naming a column of a person's name."""
    header, _rows = _table(data)
    return any(column.strip().lower() in NAME_COLUMNS for column in header)


def _table(data: bytes) -> tuple[list[str], Iterator[tuple[int, Row]]]:
    text = decode_file(data)
    first_line = next((line for line in text.split("\n", 20) if line.strip()), "")
    delimiter = max(",;\t", key=first_line.count)
    rows = _rows(csv.reader(io.StringIO(text), delimiter=delimiter))
    found = ((number, row) for number, row in rows if isinstance(row, list))
    at, header = next(found, (0, []))
    return header, ((number - at, row) for number, row in rows)


def _rows(reader: Iterator[list[str]]) -> Iterator[tuple[int, Row]]:
    """The non-blank rows, numbered from 1 counting blank ones; a row the csv module
    cannot read (a field over its limit) is its error, and reading goes on after it."""
    number = 0
    while True:
        try:
            row: Row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            row = error
        number += 1
        if isinstance(row, csv.Error) or any(cell.strip() for cell in row):
            yield number, row
