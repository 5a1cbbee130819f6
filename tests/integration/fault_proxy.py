"""A loopback TCP proxy in front of PostgreSQL that can lose a COMMIT's answer.

Armed, it lets the next event-store transaction commit on the server, then
closes the client's connection before the server's answer reaches it: the
client sees the connection drop mid-COMMIT, exactly as when PostgreSQL stops
with a commit in flight, although the write is stored.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_EVENT_INSERT = b"pcem_events"
_COMMIT = b"COMMIT\x00"


class CommitLosingProxy:
    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._armed = threading.Event()
        self.lost_commits = 0
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self) -> None:
        """Lose the answer to the next COMMIT of a transaction that wrote events."""
        self._armed.set()

    def close(self) -> None:
        self._closed = True
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            threading.Thread(target=self._relay, args=(client, server), daemon=True).start()

    def _relay(self, client: socket.socket, server: socket.socket) -> None:
        """Both directions in one thread, so nothing else reads the COMMIT's answer."""
        wrote_events = False
        with contextlib.suppress(OSError), _closing(client, server):
            while True:
                ready, _, _ = select.select([client, server], [], [])
                if server in ready:
                    if not (answer := server.recv(65536)):
                        return
                    client.sendall(answer)
                if client in ready:
                    if not (chunk := client.recv(65536)):
                        return
                    wrote_events = wrote_events or _EVENT_INSERT in chunk
                    server.sendall(chunk)
                    if wrote_events and _COMMIT in chunk and self._armed.is_set():
                        self._armed.clear()
                        server.recv(65536)  # the answer to COMMIT: the write is durable
                        self.lost_commits += 1
                        return  # ... and the client never hears it


@contextmanager
def _closing(*sockets: socket.socket) -> Iterator[None]:
    try:
        yield
    finally:
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


@contextmanager
def commit_losing_proxy(host: str, port: int) -> Iterator[CommitLosingProxy]:
    proxy = CommitLosingProxy((host, port))
    try:
        yield proxy
    finally:
        proxy.close()
