"""Every registered projection can be rebuilt: it names the tables it owns, and they qualify."""

from __future__ import annotations

import pytest

from pcem.projections.base import Projection
from pcem.projections.catalog import all_projections
from pcem.projector.shadow import check_rebuildable
from pcem.wiring import Container


@pytest.mark.parametrize("projection", all_projections(), ids=lambda p: p.name)
def test_each_projection_owns_existing_tables_a_rebuild_can_reproduce(
    container: Container, projection: Projection
) -> None:
    assert projection.tables, f"{projection.name} must declare the tables it owns"
    with container.engine.connect() as conn:
        check_rebuildable(conn, projection.tables)  # they exist, keys come from events


def test_no_table_is_owned_by_two_projections() -> None:
    owned = [table for p in all_projections() for table in p.tables]

    assert len(owned) == len(set(owned))


def test_projection_names_can_name_schemas_and_tracking_rows() -> None:
    for projection in all_projections():
        assert projection.name.isidentifier() and "@" not in projection.name
