"""A newcomer's session with `pcem dev`: the banner once everything is up, the CLI
finding the servers, and Ctrl-C stopping it all promptly with a stream open."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_pcem_dev import free_port

pytestmark = pytest.mark.slow  # starts `pcem dev` with its embedded servers

CHILDREN_UP = {
    "api": "api.serving",
    "projector": "projector.started",
    "worker": "Connected to ",  # Celery's, to the broker, just before it is ready
    "scheduler": "beat: Starting...",
}


@dataclass
class DevSession:
    process: subprocess.Popen[str]
    banner: list[str]
    log: Path
    base_url: str

    @property
    def token(self) -> str:
        return next(line.split()[1] for line in self.banner if line.strip().startswith("Token:"))

    def records(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()]


@contextmanager
def dev_session(data_dir: Path, tmp_path: Path) -> Iterator[DevSession]:
    """`pcem dev` with its stdout (the banner) read up to "Press Ctrl-C", its stderr
    (every child's log) in a file; killed if the test left it running."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PCEM_")}
    log = tmp_path / "dev.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "pcem.cli.main", "dev", "--port", str(port)],
            env=env | {"PCEM_DATA_DIR": str(data_dir)},
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        banner = _read_banner(process, log)
        yield DevSession(process, banner, log, f"http://127.0.0.1:{port}")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _read_banner(process: subprocess.Popen[str], log: Path) -> list[str]:
    assert process.stdout is not None
    lines = []
    for line in process.stdout:  # ends if the process dies
        lines.append(line.rstrip("\n"))
        if line.startswith("Press Ctrl-C"):
            return lines
    said = log.read_text().splitlines()[-15:]  # why, in its own words
    raise AssertionError(
        f"pcem dev exited ({process.wait()}) without its banner: {lines}; its log ends:\n"
        + "\n".join(said)
    )


def test_the_banner_comes_once_every_process_is_up_and_names_the_token_file(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    with dev_session(data_dir, tmp_path) as dev:
        events = [str(r.get("event")) for r in dev.records()]  # written before the banner
        token_file = data_dir / "dev-token"
        token_mode = stat.S_IMODE(token_file.stat().st_mode)
        token_in_file = token_file.read_text().strip()
        dev.process.send_signal(signal.SIGINT)
        assert dev.process.wait(timeout=30) == 0

    for child, started in CHILDREN_UP.items():
        assert any(started in event for event in events), f"{child} not up: {events}"
    assert token_in_file == dev.token
    assert token_mode == 0o600
    assert any(str(token_file) in line for line in dev.banner), dev.banner


def test_the_cli_finds_the_servers_of_a_running_pcem_dev(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PCEM_")}
    with dev_session(data_dir, tmp_path) as dev:
        status = _pcem(env | {"PCEM_DATA_DIR": str(data_dir)}, "projections", "status")
        env_file = data_dir / "env"
        shell = subprocess.run(  # the file is also for a shell: psql, redis-cli
            ["sh", "-c", f'. "{env_file}" && echo "$PCEM_DATABASE_URL|$PCEM_REDIS_URL"'],
            capture_output=True,
            text=True,
            check=True,
        )
        env_mode = stat.S_IMODE(env_file.stat().st_mode)
        dev.process.send_signal(signal.SIGINT)
        assert dev.process.wait(timeout=30) == 0

    assert status.returncode == 0, status.stderr
    projections = {line.split()[0] for line in status.stdout.splitlines()[1:]}
    assert "people_and_dates" in projections, status.stdout
    database_url, redis_url = shell.stdout.strip().split("|")
    assert database_url.startswith("postgresql://") and redis_url.startswith("unix://")
    assert env_mode == 0o600
    assert any(str(env_file) in line for line in dev.banner), dev.banner
    assert not env_file.exists(), "the servers it names are gone once pcem dev stops"


def test_an_environment_variable_wins_over_the_env_file(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PCEM_")}
    with dev_session(data_dir, tmp_path) as dev:
        elsewhere = "postgresql://nobody@127.0.0.1:1/nothing"
        status = _pcem(
            env | {"PCEM_DATA_DIR": str(data_dir), "PCEM_DATABASE_URL": elsewhere},
            "projections",
            "status",
        )
        dev.process.send_signal(signal.SIGINT)
        assert dev.process.wait(timeout=30) == 0

    assert status.returncode == 3
    assert "127.0.0.1:1 (PCEM_DATABASE_URL)" in status.stderr


def test_ctrl_c_with_a_stream_open_ends_the_stream_at_once_and_logs_it(tmp_path: Path) -> None:
    with dev_session(tmp_path / "data", tmp_path) as dev:
        opened = threading.Event()
        ended: list[float] = []
        headers = {"Authorization": f"Bearer {dev.token}"}
        url = f"{dev.base_url}/api/v1/notifications/stream"

        def hold_the_stream() -> None:
            with httpx.stream("GET", url, headers=headers, timeout=30) as response:
                for _ in response.iter_lines():  # to its end: the server completes it
                    opened.set()
            ended.append(time.monotonic())

        client = threading.Thread(target=hold_the_stream, daemon=True)
        client.start()
        assert opened.wait(30), "the stream did not open"
        asked = time.monotonic()
        dev.process.send_signal(signal.SIGINT)
        returncode = dev.process.wait(timeout=60)
        client.join(5)
        assert dev.process.stdout is not None
        said = dev.process.stdout.read()

    assert returncode == 0
    assert ended, "the client's stream did not end cleanly"
    assert ended[0] - asked < 2, f"the stream ended {ended[0] - asked:.1f} s after Ctrl-C"
    # Every process stopped by itself: before, the API held on for 15 s and was killed.
    # (How long the rest takes - Celery's pool, the embedded Redis, about 2 s each on a
    # quiet machine - is a figure, not asserted here.)
    assert "did not stop" not in said, said
    streams = [
        r
        for r in dev.records()
        if r.get("event") == "http.request" and r.get("route") == "/api/v1/notifications/stream"
    ]
    assert [r["status"] for r in streams] == [200], streams
    assert not [r for r in dev.records() if r.get("level") == "error"]


def _pcem(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pcem.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
