"""Create and read latency of people through real HTTP, one client, sequential.

Starts `pcem api` and `pcem projector` against a fresh database on the local
PostgreSQL (PCEM_BENCH_ADMIN_URL) and Redis (PCEM_BENCH_REDIS_URL), then times:
  create        POST /api/v1/people
  read-own      GET /api/v1/people/{id} right after its POST (includes the
                read-your-writes wait for the projector)
  list          GET /api/v1/people?limit=50 with N people stored

Usage: .venv/bin/python benchmarks/people_latency.py [--people 1000]
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta

import httpx
import psycopg
from machine import describe  # benchmarks/machine.py (scripts run from this folder)
from psycopg import sql

from pcem.cli.tokens import mint_token
from pcem.migrate import migrate
from pcem.settings import load_settings

ADMIN_URL = os.environ.get("PCEM_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("PCEM_BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
PORT = 8765


def percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    q = statistics.quantiles(ms, n=100)
    return f"p50 {q[49]:6.2f} ms  p95 {q[94]:6.2f} ms  p99 {q[98]:6.2f} ms  (n={len(ms)})"


def timed(call: Callable[[], httpx.Response], expect: int) -> float:
    start = time.perf_counter()
    response = call()
    elapsed = time.perf_counter() - start
    assert response.status_code == expect, response.text
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1000, help="people to create (and read)")
    args = parser.parse_args()
    print(describe(), flush=True)

    name = f"pcem_bench_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    env = {
        **os.environ,
        "PCEM_DATABASE_URL": ADMIN_URL.rsplit("/", 1)[0] + "/" + name,
        "PCEM_REDIS_URL": REDIS_URL,
        "PCEM_JWT_SECRET": secrets.token_urlsafe(40),
        "PCEM_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "PCEM_LOG_LEVEL": "WARNING",
    }
    settings = load_settings(env)
    migrate(settings.require_database())
    processes = [
        subprocess.Popen([sys.executable, "-m", "pcem.cli.main", *cmd], env=env)
        for cmd in (["api", "--port", str(PORT)], ["projector"])
    ]
    try:
        run(settings, args.people)
    finally:
        for p in processes:
            p.terminate()
            p.wait(timeout=20)
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def run(settings: object, people: int) -> None:
    # A user of this run's own: read-your-writes positions in Redis outlive the database.
    user = f"bench-user-{secrets.token_hex(4)}"
    token = mint_token(settings.jwt, user, ttl=timedelta(hours=1))  # type: ignore[attr-defined]
    base = f"http://127.0.0.1:{PORT}"
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client:
        wait_ready(client)
        creates, reads, lists = [], [], []
        for i in range(people):
            body = {
                "first_name": f"P{i}",
                "last_name": f"L{i % 97}",
                "metadata": {"i": i, "tag": "x"},
            }
            start = time.perf_counter()
            response = client.post("/api/v1/people", json=body)
            creates.append(time.perf_counter() - start)
            person_id = response.json()["id"]
            reads.append(timed(lambda pid=person_id: client.get(f"/api/v1/people/{pid}"), 200))
        for _ in range(200):
            lists.append(timed(lambda: client.get("/api/v1/people", params={"limit": 50}), 200))
    print(f"people stored: {people}, one sequential client, HTTP over loopback")
    print(f"create    {percentiles(creates)}")
    print(f"read-own  {percentiles(reads)}")
    print(f"list(50)  {percentiles(lists)}")


def wait_ready(client: httpx.Client) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if client.get("/health/ready").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the API did not become ready")


if __name__ == "__main__":
    main()
