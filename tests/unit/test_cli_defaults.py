from __future__ import annotations

from pcem.cli.main import base_url
from pcem.cli.projections import rebuild, verify
from pcem.projector.rebuild import REBUILD_BATCH


def test_rebuild_and_verify_default_to_the_rebuilds_own_batch_size() -> None:
    for command in (rebuild, verify):
        (option,) = [p for p in command.params if p.name == "batch_size"]
        assert option.default == REBUILD_BATCH


def test_the_api_announces_an_ipv6_address_in_brackets() -> None:
    assert base_url("127.0.0.1", 8000) == "http://127.0.0.1:8000"
    assert base_url("::1", 8000) == "http://[::1]:8000"
