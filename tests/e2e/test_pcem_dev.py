"""`pcem dev` on embedded servers: starts, answers real HTTP, stops cleanly, keeps data."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import jwt
import psutil
import pytest

from pcem.cli.tokens import mint_token
from pcem.settings import JWTSettings
from tests.integration.receivers import Answer, http_server
from tests.servers import PostgresServer, RedisServer

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def pcem_dev(data_dir: Path, port: int, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """Run `pcem dev`; yield the token it prints; Ctrl-C it and insist on a clean exit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PCEM_")}
    env["PCEM_DATA_DIR"] = str(data_dir)
    env.update(extra_env or {})
    process = subprocess.Popen(
        [sys.executable, "-m", "pcem.cli.main", "dev", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        token = _read_token(process)
        yield token
    finally:
        process.send_signal(signal.SIGINT)
        returncode = process.wait(timeout=60)
    assert returncode == 0


def _read_token(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    for line in process.stdout:  # ends if the process dies, failing the test below
        if line.strip().startswith("Token:"):
            return line.split()[1]
    raise AssertionError(f"pcem dev exited ({process.wait()}) without printing a token")


def embedded_postgres_pid(data_dir: Path) -> int:
    return int((data_dir / "postgres" / "postmaster.pid").read_text().splitlines()[0])


def is_running(pid: int) -> bool:
    """Running, not merely a zombie (a container's init may not reap the daemon)."""
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)  # psutil is untyped
    except psutil.NoSuchProcess:
        return False


def test_pcem_dev_serves_a_user_and_keeps_their_data_across_restarts(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}/api/v1"

    with pcem_dev(tmp_path, port) as token:
        headers = {"Authorization": f"Bearer {token}"}
        created = httpx.post(f"{base}/people", json={"first_name": "Grace"}, headers=headers)
        assert created.status_code == 201
        person_id = created.json()["id"]
        assert (
            httpx.get(f"{base}/people/{person_id}", headers=headers).json()["first_name"] == "Grace"
        )
        assert [p["id"] for p in httpx.get(f"{base}/people", headers=headers).json()["items"]] == [
            person_id
        ]

        secret = (tmp_path / "dev-jwt-secret").read_text()
        other = mint_token(JWTSettings(secret=secret), "someone-else", ttl=timedelta(minutes=5))
        other_headers = {"Authorization": f"Bearer {other}"}
        assert httpx.get(f"{base}/people/{person_id}", headers=other_headers).status_code == 404
        assert httpx.get(f"{base}/people", headers=other_headers).json()["items"] == []
        postgres_pid = embedded_postgres_pid(tmp_path)

    assert not is_running(postgres_pid), "Ctrl-C must stop the embedded PostgreSQL too"
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/health/live")

    with pcem_dev(tmp_path, port) as token:
        again = httpx.get(
            f"{base}/people/{person_id}", headers={"Authorization": f"Bearer {token}"}
        )
        assert again.status_code == 200
        assert again.json()["first_name"] == "Grace"


def test_pcem_dev_on_external_servers_makes_its_data_dir_for_the_secret(
    tmp_path: Path, postgres: PostgresServer, redis_server: RedisServer
) -> None:
    data_dir = tmp_path / "not-yet-there"
    with postgres.fresh_database() as url:
        external = {"PCEM_DATABASE_URL": url, "PCEM_REDIS_URL": redis_server.url}
        with pcem_dev(data_dir, free_port(), external) as token:
            secret = (data_dir / "dev-jwt-secret").read_text()
            jwt.decode(token, secret, algorithms=["HS256"])  # signed with the kept secret


def test_pcem_dev_on_a_port_another_server_holds_says_so_and_announces_nothing(
    tmp_path: Path,
) -> None:
    with http_server(lambda _: Answer(200, b'{"status": "ok"}')) as other:
        port = int(other.url.rsplit(":", 1)[1])
        env = {k: v for k, v in os.environ.items() if not k.startswith("PCEM_")}
        result = subprocess.run(
            [sys.executable, "-m", "pcem.cli.main", "dev", "--port", str(port)],
            env=env | {"PCEM_DATA_DIR": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert result.returncode == 3
    assert "PCEM is running" not in result.stdout
    assert result.stderr.splitlines() == [
        f"pcem: cannot listen on 127.0.0.1:{port} (--host/--port): address already in use"
    ]
