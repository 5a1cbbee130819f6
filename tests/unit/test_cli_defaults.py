from __future__ import annotations

from pcem.cli.projections import rebuild, verify
from pcem.projections.rebuild import REBUILD_BATCH


def test_rebuild_and_verify_default_to_the_rebuilds_own_batch_size() -> None:
    for command in (rebuild, verify):
        (option,) = [p for p in command.params if p.name == "batch_size"]
        assert option.default == REBUILD_BATCH
