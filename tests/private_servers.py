"""PostgreSQL and Redis servers of a test's own, on spare loopback ports, that the
test may stop and start again (the machine's shared servers must never be)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from tests.polling import wait_until

POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")


def spare_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivatePostgres:
    """A cluster in a temporary directory of its own, run as the ``postgres`` user
    when we are root (PostgreSQL refuses to run as root, and cannot reach a root
    test's private temporary directory).

    By default on a spare loopback port; ``address`` and ``launcher`` (a command
    prefix such as ``ip netns exec NS``) put it on another host's address, trusting
    the ``clients`` network."""

    def __init__(
        self, address: str = "127.0.0.1", port: int | None = None,
        launcher: tuple[str, ...] = (), clients: str | None = None,
    ) -> None:  # fmt: skip
        self.address = address
        self.port = port or spare_port()
        self.launcher = launcher
        self.scratch = Path(tempfile.mkdtemp(prefix="pcem-postgres-"))
        self.data = self.scratch / "pgdata"
        if os.geteuid() == 0:
            shutil.chown(self.scratch, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        if clients is not None:
            with (self.data / "pg_hba.conf").open("a") as hba:
                hba.write(f"host all all {clients} trust\n")
        self.start()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@{self.address}:{self.port}/{database}"

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses={self.address}"
            f" -c unix_socket_directories={self.data} -c max_connections=200"
        )
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-w", "-l",
                  str(self.data / "server.log"), "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """``fast``: backends are told to end (a commit in flight may finish or not);
        ``immediate``: the server quits at once, as in a crash."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def close(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop("immediate")
        shutil.rmtree(self.scratch, ignore_errors=True)

    def _run(self, program: str, *args: str) -> None:
        command = [str(POSTGRES_BIN / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        command = [*self.launcher, *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)


class PrivateRedis:
    """``redis-server`` without persistence: a restart forgets everything."""

    def __init__(self) -> None:
        self.port = spare_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None

    close = stop


def _wait_for_port(port: int) -> None:
    def answers() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            return False
        return True

    wait_until(answers, 20, f"a server on port {port}")
