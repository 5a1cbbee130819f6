"""The export over real HTTP: streamed in pieces, and a client that leaves midway
leaves no transaction open behind it."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest

from pcem.settings import Settings
from pcem.wiring import Container
from tests.conftest import TokenFactory
from tests.integration.export_helpers import EXPORT

PEOPLE = 3000
NOTE = 5000  # characters each: 15 MB, more than the socket buffers between us hold

# A vCard export's transaction, between its batches (each of its statements a FETCH).
OPEN_STREAMS = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
    " AND state <> 'idle' AND query LIKE 'FETCH FORWARD % FROM \"pcem_stream_%'"
)


@pytest.fixture
def many_people(settings: Settings) -> str:
    """A user with PEOPLE people straight in the read table (no history to read)."""
    user = f"many-{uuid.uuid4()}"
    with psycopg.connect(settings.require_database().url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO people (id, user_id, first_name, last_name, metadata, version,"
            " created_at, updated_at) SELECT gen_random_uuid(), %s, 'Person ' || n, 'Many',"
            " jsonb_build_object('note', repeat('x', %s)), 1, now(), now()"
            " FROM generate_series(1, %s) n",
            (user, NOTE, PEOPLE),
        )
    return user


def test_the_export_is_streamed_in_pieces(
    live_url: str, many_people: str, token_for: TokenFactory
) -> None:
    headers = {"Authorization": f"Bearer {token_for(many_people)}"}  # JSON
    with (
        httpx.Client(base_url=live_url, timeout=30) as client,
        client.stream("GET", EXPORT, headers=headers) as response,
    ):
        pieces = [len(piece) for piece in response.iter_raw()]
        assert response.status_code == 200
        assert "content-length" not in response.headers
        assert response.headers["transfer-encoding"] == "chunked"

    assert len(pieces) > 3
    assert sum(pieces) > PEOPLE * NOTE


def test_a_client_that_leaves_midway_leaves_no_transaction_open(
    live_url: str, many_people: str, token_for: TokenFactory, settings: Settings
) -> None:
    with psycopg.connect(settings.require_database().url, autocommit=True) as conn:
        with reading_slowly(live_url, EXPORT, token_for(many_people)) as first:
            assert first.startswith(b"HTTP/1.1 200")
            assert conn.execute(OPEN_STREAMS).fetchone() == (1,)  # held while it streams

        deadline = time.monotonic() + 10
        while (open_streams := conn.execute(OPEN_STREAMS).fetchone()) != (0,):
            assert time.monotonic() < deadline, f"still open: {open_streams}"
            time.sleep(0.1)


def test_exports_streaming_at_once_are_limited_so_other_requests_keep_connections(
    live_url: str, many_people: str, token_for: TokenFactory, container: Container
) -> None:
    token = token_for(many_people)
    headers = {"Authorization": f"Bearer {token}"}
    at_once = max(1, container.pool_size // 3)
    with ExitStack() as slow:
        for _ in range(at_once):
            assert slow.enter_context(reading_slowly(live_url, EXPORT, token)).startswith(
                b"HTTP/1.1 200"
            )
        with httpx.Client(base_url=live_url, timeout=30) as client:
            refused = client.get(EXPORT, headers=headers)
            assert client.get("/api/v1/people", headers=headers).status_code == 200

    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "10"
    assert refused.json()["detail"] == "too many exports are in progress; try again shortly"


@contextmanager
def reading_slowly(live_url: str, path: str, token: str) -> Iterator[bytes]:
    """A client that reads the first bytes of a vCard export, then nothing, then leaves.
    A socket of its own: its receive buffer is set before it connects, so Linux cannot
    grow it (up to tcp_rmem, 32 MB here) and take the whole export in."""
    host, port = urlsplit(live_url).hostname, urlsplit(live_url).port
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
        sock.connect((host, port))
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            "Accept: text/vcard\r\n\r\n"
        )
        sock.sendall(request.encode())
        yield sock.recv(64 * 1024)
