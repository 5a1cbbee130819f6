"""The CLI's tables: columns padded to their widest cell."""

from __future__ import annotations

from pcem.cli.tables import table


def test_each_column_is_as_wide_as_its_widest_cell_numbers_on_the_right() -> None:
    lines = table(
        ("NAME", "LAG", "RUNNER"),
        [("people_and_dates@rebuild", 412345, "pcem rebuild ops-1:9312"), ("people", 0, "-")],
        right={"LAG"},
    )

    assert lines == [
        "NAME                         LAG  RUNNER",
        "people_and_dates@rebuild  412345  pcem rebuild ops-1:9312",
        "people                         0  -",
    ]


def test_a_table_without_rows_is_its_header() -> None:
    assert table(("ID", "CHANNEL"), []) == ["ID  CHANNEL"]
