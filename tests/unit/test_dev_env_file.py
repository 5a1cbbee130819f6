"""The env file `pcem dev` leaves for the other `pcem` commands."""

from __future__ import annotations

import stat
from pathlib import Path

from pcem.cli.dev_env import with_env_file, write_env_file


def test_the_file_fills_in_what_the_environment_leaves_unset_and_never_overrides(
    tmp_path: Path,
) -> None:
    path = tmp_path / "env"
    write_env_file(
        path,
        {
            "PCEM_DATABASE_URL": "postgresql://postgres:@/pcem?host=/tmp/a b/postgres",
            "PCEM_REDIS_URL": "unix:///tmp/x/redis.socket",
            "PCEM_JWT_SECRET": "it's $ecret",
        },
    )

    merged = with_env_file({"PCEM_REDIS_URL": "redis://mine:6379/0", "HOME": "/root"}, path)

    assert merged == {
        "PCEM_DATABASE_URL": "postgresql://postgres:@/pcem?host=/tmp/a b/postgres",
        "PCEM_REDIS_URL": "redis://mine:6379/0",
        "PCEM_JWT_SECRET": "it's $ecret",
        "HOME": "/root",
    }
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_without_the_file_the_environment_is_all(tmp_path: Path) -> None:
    assert with_env_file({"PCEM_LOG_LEVEL": "DEBUG"}, tmp_path / "env") == {
        "PCEM_LOG_LEVEL": "DEBUG"
    }
