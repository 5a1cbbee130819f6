"""`pcem dev`: the whole service on one machine with no set-up.

Embedded PostgreSQL and Redis live under ``PCEM_DATA_DIR`` (unless URLs are
given), so a second start finds the same data. The API, projector, worker and
scheduler run as child processes in their own sessions: Ctrl-C reaches only this supervisor,
which stops the children first and the embedded servers last.
"""

from __future__ import annotations

import base64
import os
import secrets
import select
import socket
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import click
import httpx

from pcem.cli.common import check_master_key, fails_cleanly, stop_on_signals
from pcem.cli.dev_env import env_file, write_env_file, write_private_file
from pcem.cli.tokens import mint_token
from pcem.cli.unreachable import listen_on
from pcem.embedded import ensure_database, start_postgres, start_redis
from pcem.migrate import migrate
from pcem.readiness import READY_FD
from pcem.settings import Settings, load_settings
from pcem.settings.erasure import MASTER_KEY_BYTES

DEV_USER = "dev-user"
CHILDREN = ("api", "projector", "worker", "scheduler")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="API interface.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@fails_cleanly
def dev(host: str, port: int) -> None:
    """Run PCEM on this machine: embedded PostgreSQL and Redis, migrations, API, projector,
    notification worker and scheduler (the embedded Redis is the broker).

    Once all are up it prints a token (also kept in PCEM_DATA_DIR/dev-token) and, while
    it runs, writes PCEM_DATA_DIR/env: where its servers are, for the other pcem
    commands (the environment wins over the file). Ctrl-C stops everything."""
    settings = load_settings(os.environ)  # not current_settings(): that reads our env file
    with ExitStack() as resources:
        # Held from now on and handed to the API: a ready answer can only be our own.
        listening = resources.enter_context(listen_on(host, port))
        chosen = _dev_environment(settings, resources)
        env = {**os.environ, **chosen}
        settings = load_settings(env)
        migrate(settings.require_database())
        check_master_key(settings)
        children = [_spawn(name, env, listening) for name in CHILDREN]
        processes = [child.process for child in children]
        resources.callback(_stop_all, dict(zip(CHILDREN, processes, strict=True)))
        base_url = f"http://{host}:{port}"
        _wait_until_ready(base_url, children)
        stop = stop_on_signals()  # before the announcement: a Ctrl-C right after it stops cleanly
        cli_env = env_file(settings.data_dir.resolve())
        write_env_file(cli_env, chosen)
        resources.callback(cli_env.unlink, missing_ok=True)
        _announce(base_url, settings, cli_env)
        _supervise(processes, stop)


def _dev_environment(settings: Settings, resources: ExitStack) -> dict[str, str]:
    """What `pcem dev` sets for its children, beyond the environment it was given
    (also what its env file tells the CLI)."""
    env: dict[str, str] = {}
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)  # the secret goes there, even with external URLs
    if settings.database is None:
        postgres = start_postgres(data_dir)
        resources.callback(postgres.close)
        ensure_database(postgres.url("postgres"), "pcem")
        env["PCEM_DATABASE_URL"] = postgres.url("pcem")
    if settings.redis is None:
        redis = start_redis(data_dir)
        resources.callback(redis.close)
        env["PCEM_REDIS_URL"] = redis.url
    if not settings.jwt.configured:
        env["PCEM_JWT_SECRET"] = _dev_secret(data_dir)
    if settings.master_key is None:
        env["PCEM_MASTER_KEY"] = _dev_master_key(data_dir)
    return env


def _dev_master_key(data_dir: Path) -> str:
    """A random master key, kept (mode 0600 from its creation) so the events written
    in one run open in the next: losing this file erases every event of the data dir."""
    path = data_dir / "dev-master-key"
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(base64.b64encode(os.urandom(MASTER_KEY_BYTES)).decode())
    return path.read_text().strip()


def _dev_secret(data_dir: Path) -> str:
    """A random signing secret, kept so tokens survive a restart."""
    path = data_dir / "dev-jwt-secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _spawn(name: str, env: dict[str, str], listening: socket.socket) -> Child:
    command = [sys.executable, "-m", "pcem.cli.main", name]
    if name == "api":  # ready when /health/ready says so
        host, port = listening.getsockname()[:2]
        command += ["--host", host, "--port", str(port), "--listen-fd", str(listening.fileno())]
        process = subprocess.Popen(  # noqa: S603
            command, env=env, start_new_session=True, pass_fds=(listening.fileno(),)
        )
        return Child(process, None)
    ready, tell = os.pipe()  # the child writes to ``tell`` once it is up
    process = subprocess.Popen(  # noqa: S603
        command, env=env | {READY_FD: str(tell)}, start_new_session=True, pass_fds=(tell,)
    )
    os.close(tell)
    return Child(process, ready)


@dataclass
class Child:
    process: subprocess.Popen[bytes]
    ready: int | None  # the pipe it says it is up on (closed once it has); None: the API

    def is_up(self) -> bool:
        if self.ready is not None and select.select([self.ready], [], [], 0)[0]:
            said = os.read(self.ready, 1)
            os.close(self.ready)
            self.ready = None
            if not said:  # closed without a word: it is exiting
                raise click.ClickException(START_FAILED)
        return self.ready is None


START_FAILED = "a PCEM process exited during start-up; see its log above"


def _wait_until_ready(base_url: str, children: list[Child]) -> None:
    """Until the API answers ready and every other child said it is up."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(child.process.poll() is not None for child in children):
            raise click.ClickException(START_FAILED)
        if all(child.is_up() for child in children) and _answers(base_url):
            return
        time.sleep(0.2)
    raise click.ClickException(f"PCEM did not start at {base_url} within 60 s")


def _answers(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/health/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _announce(base_url: str, settings: Settings, cli_env: Path) -> None:
    token = mint_token(settings.jwt, DEV_USER, roles=("support", "operator"), ttl=timedelta(days=1))
    data_dir = settings.data_dir.resolve()
    token_file = data_dir / "dev-token"  # the banner scrolls away under the logs; this stays
    write_private_file(token_file, token + "\n")
    click.echo(
        f"\nPCEM is running.\n"
        f"  API:   {base_url}/api/v1\n"
        f"  Docs:  {base_url}/schema\n"
        f"  Token: {token}\n"
        f"         (user {DEV_USER!r}, roles support+operator, valid 24 h; kept in {token_file})\n"
        f"  CLI:   pcem commands with PCEM_DATA_DIR={data_dir} (the default: ./.pcem)\n"
        f"         find these servers in {cli_env}; `. {cli_env}` sets them in a shell\n\n"
        f"  TOKEN=$(cat {token_file})\n"
        f'  curl -H "Authorization: Bearer $TOKEN" {base_url}/api/v1/people\n\n'
        "Press Ctrl-C to stop.",
        err=False,
    )


def _supervise(children: list[subprocess.Popen[bytes]], stop: threading.Event) -> None:
    while not stop.wait(0.5):
        for child in children:
            if child.poll() is not None:
                raise click.ClickException(f"a PCEM process exited with status {child.returncode}")
    click.echo("\npcem: stopping…")


STOP_SECONDS = 15  # for each process to stop after SIGTERM, before it is killed


def _stop_all(children: dict[str, subprocess.Popen[bytes]]) -> None:
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    for name, child in children.items():
        try:
            child.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            click.echo(f"pcem: `pcem {name}` did not stop within {STOP_SECONDS} s: killed")
