"""A missing or wrong master key at start-up is one clear line and exit status 2, never
events written in clear nor every event read as erased."""

from __future__ import annotations

import base64
import os

import pytest

from pcem.settings import Settings
from tests.integration.test_cli import env_of, pcem

pytestmark = pytest.mark.slow  # each starts `pcem` as a process

STORE_READERS = [
    ["migrate"],
    ["api", "--port", "18719"],
    ["projector"],
    ["worker"],
    ["scheduler"],
    ["audit", "history", "00000000-0000-0000-0000-000000000001"],
    ["projections", "verify", "people_and_dates"],
    ["events", "encrypt"],
]


def other_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def sealed_once(isolated: Settings) -> Settings:
    """A database whose check value is sealed by the tests' key."""
    assert pcem("migrate", env=env_of(isolated)).returncode == 0
    return isolated


@pytest.mark.parametrize("command", STORE_READERS, ids=" ".join)
def test_without_a_master_key_a_process_stops_with_one_line(
    sealed_once: Settings, command: list[str]
) -> None:
    result = pcem(*command, env=env_of(sealed_once) | {"PCEM_MASTER_KEY": ""})

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "pcem: configuration error: PCEM_MASTER_KEY is not set (32 random bytes, base64:"
        " python -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')"
    ]


@pytest.mark.parametrize("command", STORE_READERS, ids=" ".join)
def test_with_another_master_key_a_process_stops_with_one_line(
    sealed_once: Settings, command: list[str]
) -> None:
    result = pcem(*command, env=env_of(sealed_once) | {"PCEM_MASTER_KEY": other_key()})

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "pcem: configuration error: PCEM_MASTER_KEY is not the key this database's data keys"
        " are wrapped with (it does not open master_key_check)"
    ]


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("not base64!", "PCEM_MASTER_KEY must be base64 (32 random bytes)"),
        (base64.b64encode(b"short").decode(), "PCEM_MASTER_KEY must be 32 bytes, base64"),
    ],
)
def test_a_malformed_master_key_is_refused_without_being_echoed(
    sealed_once: Settings, value: str, complaint: str
) -> None:
    result = pcem("projector", env=env_of(sealed_once) | {"PCEM_MASTER_KEY": value})

    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and complaint in result.stderr
    assert value not in result.stderr


def test_the_first_process_seals_the_check_value_and_the_same_key_passes_again(
    isolated: Settings,
) -> None:
    first = pcem("migrate", env=env_of(isolated))
    again = pcem("migrate", env=env_of(isolated))

    assert (first.returncode, again.returncode) == (0, 0), first.stderr + again.stderr
