"""The bare peers of benchmarks/http_paths.py: what PCEM's paths cost without PCEM.

  serve   a minimal Litestar app (async handlers, one psycopg_pool.AsyncConnectionPool,
          no auth, no middleware) under uvicorn with the options `pcem api` uses:
            GET /people/{id}       the one-row query of PeopleView.get
            GET /people?limit=50   the index range of PeopleView.page
          It reads the rows PCEM serves: the database of PEER_DATABASE_URL, the
          user of PEER_USER_ID.
  saves   a bare eventsourcing Application (postgres persistence, tables of its
          own created on start) and a trivial person-like aggregate; --threads
          threads each run `app.save(Contact(...))` until --duration has passed.
          Prints one JSON line: saves, seconds, p50_ms, p99_ms, cpu_percent
          (of this process, 100 = one core), machine_busy (100 = every core).

Usage (run by benchmarks/http_paths.py, not by hand):
  .venv/bin/python benchmarks/bare_peer.py serve --port 8768
  .venv/bin/python benchmarks/bare_peer.py saves --duration 10 --threads 8
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

from psycopg.conninfo import conninfo_to_dict

COLUMNS = "id, first_name, last_name, primary_contact, metadata, version, created_at, updated_at"
GET = (
    f"SELECT {COLUMNS} FROM people"  # the statement of PeopleView.GET
    " WHERE user_id = %s AND id = %s AND deleted_at IS NULL"
)
PAGE = (
    f"SELECT {COLUMNS} FROM people WHERE user_id = %s AND deleted_at IS NULL"
    " ORDER BY last_name, first_name, id LIMIT %s"
)
APPLICATION_NAME = "BarePeer"  # eventsourcing derives the tables: barepeer_events


def cpu_sample() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])  # guest time is already counted in user
    return total - idle, total


def busy_since(before: tuple[int, int]) -> float:
    """Percent of all cores busy since ``before`` (100 = every core)."""
    busy, total = cpu_sample()
    return 100.0 * (busy - before[0]) / max(total - before[1], 1)


def create_app() -> Any:
    from litestar import Litestar, get
    from litestar.exceptions import NotFoundException
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    user_id = os.environ["PEER_USER_ID"]
    pool = AsyncConnectionPool(
        os.environ["PEER_DATABASE_URL"],
        min_size=4,
        max_size=10,
        # Like PCEM's engine: sessions in UTC, rows as mappings, no transaction.
        kwargs={"options": "-c timezone=UTC", "row_factory": dict_row, "autocommit": True},
        open=False,
    )

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await pool.open(wait=True, timeout=10)
        try:
            yield
        finally:
            await pool.close()

    @get("/people/{person_id:uuid}")
    async def one_row(person_id: UUID) -> dict[str, Any]:
        async with pool.connection() as conn:
            cursor = await conn.execute(GET, (user_id, person_id))
            row = await cursor.fetchone()
        if row is None:
            raise NotFoundException()
        return row

    @get("/people")
    async def page(limit: int = 50) -> dict[str, Any]:
        async with pool.connection() as conn:
            cursor = await conn.execute(PAGE, (user_id, limit))
            rows = await cursor.fetchall()
        return {"items": rows, "next_cursor": None}

    return Litestar(route_handlers=[one_row, page], lifespan=[lifespan])


def serve(port: int) -> None:
    import uvicorn

    # `pcem api`'s call; httptools and uvloop are what uvicorn picks there on its own.
    uvicorn.run(
        create_app(),
        host="127.0.0.1",
        port=port,
        http="httptools",
        loop="uvloop",
        log_level="warning",
        access_log=False,
    )


def saves(duration: float, threads: int) -> None:
    from eventsourcing.application import Application
    from eventsourcing.domain import Aggregate

    class Contact(Aggregate):
        def __init__(
            self, user_id: str, first_name: str, last_name: str, metadata: dict[str, Any]
        ) -> None:
            self.user_id = user_id
            self.first_name = first_name
            self.last_name = last_name
            self.primary_contact: str | None = None
            self.metadata = metadata

    class BarePeer(Application[UUID]):
        name = APPLICATION_NAME

    params = conninfo_to_dict(os.environ["PEER_DATABASE_URL"])
    app = BarePeer(
        env={
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": str(params.get("dbname", "")),
            "POSTGRES_HOST": str(params.get("host", "127.0.0.1")),
            "POSTGRES_PORT": str(params.get("port", "5432")),
            "POSTGRES_USER": str(params.get("user", "postgres")),
            "POSTGRES_PASSWORD": str(params.get("password", "")),
            "POSTGRES_POOL_SIZE": str(threads),
            "POSTGRES_MAX_OVERFLOW": "0",
            "POSTGRES_CONNECT_TIMEOUT": "5",
            "CREATE_TABLE": "yes",
        }
    )

    def save() -> None:
        app.save(Contact("bench-user", "Bench", "N", {"k": 1}))

    for _ in range(threads * 5):  # open the pool's connections, prepare, warm up
        save()
    latencies: list[list[float]] = [[] for _ in range(threads)]
    deadline = time.perf_counter() + duration

    def loop(samples: list[float]) -> None:
        while (start := time.perf_counter()) < deadline:
            save()
            samples.append(time.perf_counter() - start)

    workers = [threading.Thread(target=loop, args=(s,), daemon=True) for s in latencies]
    machine, cpu = cpu_sample(), time.process_time()
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=duration + 60)
    seconds = time.perf_counter() - started
    cpu_percent = 100.0 * (time.process_time() - cpu) / seconds
    machine_busy = busy_since(machine)
    ms = sorted(s * 1000 for samples in latencies for s in samples)
    q = statistics.quantiles(ms, n=100) if len(ms) >= 2 else [float("nan")] * 99
    result = {"saves": len(ms), "seconds": seconds, "p50_ms": q[49], "p99_ms": q[98]}
    print(json.dumps({**result, "cpu_percent": cpu_percent, "machine_busy": machine_busy}))
    app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="serve the bare HTTP peer")
    serve_parser.add_argument("--port", type=int, required=True)
    saves_parser = commands.add_parser("saves", help="run the bare save loop, print JSON")
    saves_parser.add_argument("--duration", type=float, default=10.0)
    saves_parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    if args.command == "serve":
        serve(args.port)
    else:
        saves(args.duration, args.threads)


if __name__ == "__main__":
    main()
