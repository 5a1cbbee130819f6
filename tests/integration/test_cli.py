"""`pcem` subcommands run as a user would run them."""

from __future__ import annotations

import importlib.metadata
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import cast

import httpx
import jwt
import psycopg
import pytest

from pcem.settings import Settings
from tests.conftest import MASTER_KEY
from tests.polling import wait_until
from tests.servers import PostgresServer

# Every test here starts `pcem` as a process: over a second of imports each, before
# it does anything. They run in `make test` and CI, not in `make test-fast`.
pytestmark = pytest.mark.slow

COMMANDS = [
    [],
    ["dev"],
    ["migrate"],
    ["api"],
    ["projector"],
    ["token"],
    ["projections"],
    ["projections", "status"],
    ["projections", "rebuild"],
    ["projections", "verify"],
    ["audit"],
    ["audit", "history"],
    ["events"],
    ["events", "encrypt"],
    ["users"],
    ["users", "erase"],
]


def pcem(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PCEM_")}
    return subprocess.run(
        [sys.executable, "-m", "pcem.cli.main", *args],
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def env_of(settings: Settings) -> dict[str, str]:
    return {
        "PCEM_DATABASE_URL": settings.require_database().url,
        "PCEM_REDIS_URL": settings.require_redis().url,
        "PCEM_JWT_SECRET": settings.jwt.secret or "",
        "PCEM_MASTER_KEY": MASTER_KEY,
    }


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "pcem")
def test_every_command_has_help(command: list[str]) -> None:
    result = pcem(*command, "--help")

    assert result.returncode == 0
    assert "Usage:" in result.stdout
    assert len(result.stdout.splitlines()) > 3


def test_migrate_is_idempotent(settings: Settings) -> None:
    first = pcem("migrate", env=env_of(settings))
    second = pcem("migrate", env=env_of(settings))

    assert first.returncode == second.returncode == 0
    assert "latest migration" in second.stdout


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        (
            {"PCEM_DATABASE_URL": "mysql://localhost/x"},
            "PCEM_DATABASE_URL must be a postgresql:// URL",
        ),
        ({}, "PCEM_DATABASE_URL is not set"),
        (
            {"PCEM_DATABASE_URL": "postgresql://localhost/x", "PCEM_LOG_LEVEL": "chatty"},
            "PCEM_LOG_LEVEL",
        ),
    ],
)
def test_bad_configuration_stops_with_one_clear_line(env: dict[str, str], complaint: str) -> None:
    result = pcem("migrate", env=env)

    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert complaint in result.stderr
    assert "Traceback" not in result.stderr


def test_api_refuses_to_start_without_any_jwt_key(settings: Settings) -> None:
    env = env_of(settings) | {"PCEM_JWT_SECRET": ""}

    result = pcem("api", env=env)

    assert result.returncode == 2
    assert "no JWT key" in result.stderr


def test_token_mints_a_verifiable_token_with_roles_and_lifetime(settings: Settings) -> None:
    result = pcem(
        "token", "--user", "alice", "--role", "support", "--ttl", "15m", env=env_of(settings)
    )

    assert result.returncode == 0
    claims = jwt.decode(result.stdout.strip(), cast(str, settings.jwt.secret), algorithms=["HS256"])
    assert claims["sub"] == "alice"
    assert claims["roles"] == ["support"]
    assert 14 * 60 <= claims["exp"] - claims["iat"] <= 15 * 60


@pytest.mark.parametrize("args", [["--ttl", "forever"], ["--role", "admin"], ["--ttl", "0h"]])
def test_token_rejects_bad_options(settings: Settings, args: list[str]) -> None:
    result = pcem("token", "--user", "alice", *args, env=env_of(settings))

    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_projections_status_lists_people_and_dates(settings: Settings, client: object) -> None:
    result = pcem("projections", "status", env=env_of(settings))

    assert result.returncode == 0
    assert "people_and_dates" in result.stdout
    assert "LAG" in result.stdout.splitlines()[0]


def test_version_is_the_installed_packages() -> None:
    result = pcem("--version")

    assert result.returncode == 0
    assert result.stdout.strip() == f"pcem, version {importlib.metadata.version('pcem')}"


def test_api_says_where_it_serves_when_it_starts(settings: Settings) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = {k: v for k, v in os.environ.items() if not k.startswith("PCEM_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "pcem.cli.main", "api", "--port", str(port)],
        env={**base, **env_of(settings)},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: _live(f"http://127.0.0.1:{port}"), 30, "the API to start")
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=15)

    lines = [json.loads(line) for line in stderr.splitlines()]  # every one of them JSON
    announced = [line for line in lines if line["event"] == "api.serving"]
    url = f"http://127.0.0.1:{port}"
    assert [(a["url"], a["docs"]) for a in announced] == [(url, f"{url}/schema")], stderr


def _live(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health/live", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_migrate_runs_concurrently_on_a_fresh_database(
    postgres: PostgresServer, settings: Settings
) -> None:
    with postgres.fresh_database() as url:
        env = env_of(settings) | {"PCEM_DATABASE_URL": url}
        runs = [pcem_started("migrate", env=env) for _ in range(4)]
        outcomes = [(run.wait(timeout=120), run.communicate()[1]) for run in runs]

        assert [code for code, _ in outcomes] == [0, 0, 0, 0], outcomes
        assert schema_of(url) == schema_of(settings.require_database().url)


def pcem_started(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PCEM_")}
    return subprocess.Popen(
        [sys.executable, "-m", "pcem.cli.main", *args],
        env={**base, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def schema_of(url: str) -> dict[str, list[str]]:
    """The public schema's tables with their columns, and the migration it is at."""
    with psycopg.connect(url) as conn:
        columns = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'public' ORDER BY 1, 2"
        ).fetchall()
        (version,) = conn.execute("SELECT version_num FROM alembic_version").fetchone() or ("",)
    schema: dict[str, list[str]] = {"alembic_version": [version]}
    for table, column in columns:
        schema.setdefault(table, []).append(column)
    return schema


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port nothing listens on, held so that nothing can start to."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


UNREACHABLE_DATABASE = [
    ["migrate"],
    ["api", "--port", "{free_port}"],
    ["projector"],
    ["worker"],
    ["projections", "status"],
    ["audit", "history", "4b8f6a86-43a4-4ac5-9d4e-57e5c3f1a6c0"],
    ["notifications", "failed"],
]


@pytest.mark.parametrize("command", UNREACHABLE_DATABASE, ids=" ".join)
def test_an_unreachable_database_is_one_line_naming_variable_and_address(
    settings: Settings, closed_port: int, command: list[str]
) -> None:
    url = f"postgresql://pcem:hunter2-secret@127.0.0.1:{closed_port}/pcem"

    args = [arg.format(free_port=free_port()) for arg in command]

    result = pcem(*args, env=env_of(settings) | {"PCEM_DATABASE_URL": url})

    assert result.returncode == 3, result.stderr
    assert result.stderr.splitlines() == [
        f"pcem: cannot use PostgreSQL at 127.0.0.1:{closed_port} (PCEM_DATABASE_URL):"
        " Connection refused"
    ]


@pytest.mark.parametrize("command", [["scheduler"], ["worker"]], ids=" ".join)
def test_an_unreachable_broker_is_one_line(
    settings: Settings, closed_port: int, command: list[str]
) -> None:
    broker = f"amqp://guest:hunter2-secret@127.0.0.1:{closed_port}//"

    result = pcem(*command, env=env_of(settings) | {"PCEM_BROKER_URL": broker})

    assert result.returncode == 3, result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert f"cannot use the broker at 127.0.0.1:{closed_port} (PCEM_BROKER_URL)" in result.stderr
    assert "hunter2" not in result.stderr


def test_a_port_that_is_not_a_number_is_a_configuration_error(settings: Settings) -> None:
    url = "postgresql://u:pw@db:abc/pcem"

    result = pcem("projections", "status", env=env_of(settings) | {"PCEM_DATABASE_URL": url})

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "pcem: configuration error: PCEM_DATABASE_URL has port 'abc':"
        " it must be a number from 1 to 65535"
    ]


def test_api_on_a_taken_port_says_so_in_one_line(settings: Settings) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = pcem("api", "--port", str(port), env=env_of(settings))

    assert result.returncode == 3
    assert result.stderr.splitlines() == [
        f"pcem: cannot listen on 127.0.0.1:{port} (--host/--port): address already in use"
    ]
