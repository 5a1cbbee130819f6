"""People search at scale through HTTP, as the API runs it, with each filter's plan.

Fills the ``people`` read table of a fresh database directly (this measures the
query, not the write path): one heavy user with --heavy people and --others people
spread over 1,000 other users. The table's indexes are dropped for the fill and built
again from their own definitions (a bulk build is far faster than row-by-row
upkeep). Then starts `pcem api` on it and times --runs requests of each filter
`GET /api/v1/people` can send, the filters interleaved, one sequential client over
loopback: the API's pool, role ``pcem_api``, row-level security and all. Last, each
filter's plan as the view runs it (auto_explain, nested statements included: the
plan inside ``people_page``). The database is dropped at the end.

Usage: .venv/bin/python benchmarks/people_search.py [--heavy 50000] [--others 950000]
           [--runs 200]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import psycopg
from fresh import fresh_database  # benchmarks/fresh.py
from machine import describe  # benchmarks/machine.py (scripts run from this folder)
from psycopg_pool import AsyncConnectionPool
from timing import percentiles  # benchmarks/timing.py

from pcem.cli.tokens import mint_token
from pcem.database.row_security import API_ROLE, API_ROLE_OPTIONS
from pcem.migrate import migrate
from pcem.projections.people_view import PeopleFilter, PeopleView
from pcem.settings import Settings, load_settings

ADMIN_URL = os.environ.get("PCEM_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("PCEM_BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
TARGET_P95_MS = 20.0
WARM_UP_ROUNDS = 5

FILL = """
INSERT INTO people (id, user_id, first_name, last_name, primary_contact, metadata,
                    version, created_at, updated_at)
SELECT gen_random_uuid(), %(user)s || CASE WHEN %(spread)s THEN (i %% 1000)::text ELSE '' END,
       'First' || i, 'Last' || (i %% 5000), 'p' || i || '@example.org',
       jsonb_build_object(
           'favorite_book', 'Book ' || (i %% 300),
           'kids', jsonb_build_object('school', 'School ' || (i %% 400), 'count', i %% 4),
           'tags', jsonb_build_array('t' || (i %% 50), 't' || (i %% 7))
       ) || CASE WHEN i %% 100 = 0 THEN '{"linkedin_url": "https://in.example"}'::jsonb
                 ELSE '{}'::jsonb END,
       1, now(), now()
FROM generate_series(1, %(n)s) AS i
"""
INDEXES = (
    "SELECT indexname, indexdef FROM pg_indexes"
    " WHERE schemaname = 'public' AND tablename = 'people' AND indexname <> 'people_pkey'"
)
# Query parameters as a client sends them.
FILTERS: dict[str, dict[str, str]] = {
    "has_key=linkedin_url (1% of rows)": {"has_key": "linkedin_url"},
    "has_key=shoe_size (no row)": {"has_key": "shoe_size"},
    'meta={"kids":{"school":"School 7"}} (1 in 400)': {"meta": '{"kids":{"school":"School 7"}}'},
    'meta={"tags":["t3"]} (1 in 7)': {"meta": '{"tags":["t3"]}'},
    'meta={"kids":{"school":"nowhere"}} (no row)': {"meta": '{"kids":{"school":"nowhere"}}'},
    "q=book 29 (a common word)": {"q": "book 29"},
    "q=p49999@ (a rare word)": {"q": "p49999@"},
    "q=zz (no row; under 3 letters, no trigram)": {"q": "zz"},
    "no filter (first page)": {},
}
# The API's pool: connections start as pcem_api.
AS_THE_API = {"autocommit": True, "options": API_ROLE_OPTIONS}
# auto_explain's settings may only be made by a superuser: the admin URL's role, whose
# connection then goes back to being pcem_api.
EXPLAIN_SETTINGS = (
    "SET ROLE NONE",
    "LOAD 'auto_explain'",
    "SET auto_explain.log_min_duration = 0",
    "SET auto_explain.log_analyze = on",
    "SET auto_explain.log_buffers = on",
    "SET auto_explain.log_nested_statements = on",
    "SET client_min_messages = log",
    f"SET ROLE {API_ROLE}",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heavy", type=int, default=50_000, help="people of the one heavy user")
    parser.add_argument("--others", type=int, default=950_000, help="people of 1,000 other users")
    parser.add_argument("--runs", type=int, default=200, help="timed requests per filter")
    args = parser.parse_args()
    print(describe(), flush=True)
    with fresh_database(ADMIN_URL) as url:
        env = environment(url)
        settings = load_settings(env)
        migrate(settings.require_database())
        user = f"heavy-{secrets.token_hex(4)}"  # Redis positions outlive the database
        fill(url, user, args.heavy, args.others)
        with running_api(env) as base:
            time_requests(settings, base, user, args.runs)
        asyncio.run(time_view(url, user, args.runs))
        asyncio.run(explain_all(url, user))


def environment(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "PCEM_DATABASE_URL": url,
        "PCEM_REDIS_URL": REDIS_URL,
        "PCEM_JWT_SECRET": secrets.token_urlsafe(40),
        "PCEM_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "PCEM_LOG_LEVEL": "WARNING",
        "PCEM_RATE_LIMIT_PER_MINUTE": "10000000",
    }


def fill(url: str, user: str, heavy: int, others: int) -> None:
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        indexes = conn.execute(INDEXES).fetchall()
        for name, _ in indexes:
            conn.execute(f"DROP INDEX {name}")
        conn.execute(FILL, {"user": user, "spread": False, "n": heavy})
        conn.execute(FILL, {"user": "user-", "spread": True, "n": others})
        conn.execute("SET maintenance_work_mem = '256MB'")
        for _, definition in indexes:
            conn.execute(definition)
        conn.execute("VACUUM ANALYZE people")
    print(
        f"people rows: {heavy + others:,} ({heavy:,} belong to the user searching);"
        f" indexes: {', '.join(name for name, _ in indexes)};"
        f" filled in {time.perf_counter() - started:.0f} s\n",
        flush=True,
    )


@contextmanager
def running_api(env: dict[str, str]) -> Iterator[str]:
    """`pcem api` on a free port of this machine (its base URL), stopped on leaving."""
    port = free_port()
    command = [sys.executable, "-m", "pcem.cli.main", "api", "--port", str(port)]
    process = subprocess.Popen(command, env=env)
    try:
        wait_ready(f"http://127.0.0.1:{port}", process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{base}/health/ready").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the API did not become ready")


def time_requests(settings: Settings, base: str, user: str, runs: int) -> None:
    token = mint_token(settings.jwt, user, ttl=timedelta(hours=2))
    samples: dict[str, list[float]] = {label: [] for label in FILTERS}
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers) as client:
        for round_number in range(WARM_UP_ROUNDS + runs):
            for label, params in FILTERS.items():
                elapsed = timed_get(client, params)
                if round_number >= WARM_UP_ROUNDS:
                    samples[label].append(elapsed)
    print(f"GET /api/v1/people?limit=50, {runs} requests per filter, one client, HTTP; {busy()}:")
    for label, seconds in samples.items():
        p95 = statistics.quantiles(seconds, n=100)[94] * 1000
        flag = "" if p95 <= TARGET_P95_MS else f"   over the {TARGET_P95_MS:.0f} ms target"
        print(f"  {label:<48} {percentiles(seconds)}{flag}")
    print(flush=True)


def busy() -> str:
    """How loaded the shared machine was (other work slows every figure alike)."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def timed_get(client: httpx.Client, params: dict[str, str]) -> float:
    started = time.perf_counter()
    response = client.get("/api/v1/people", params={**params, "limit": "50"})
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text
    return elapsed


async def time_view(url: str, user: str, runs: int) -> None:
    """The same pages from ``PeopleView.page`` in process: the database's part of a request."""
    samples: dict[str, list[float]] = {label: [] for label in FILTERS}
    async with AsyncConnectionPool(url, min_size=1, kwargs=AS_THE_API) as pool:
        view = PeopleView(pool)
        for round_number in range(WARM_UP_ROUNDS + runs):
            for label, params in FILTERS.items():
                started = time.perf_counter()
                await view.page(user, as_filter(params), after=None, limit=51)
                if round_number >= WARM_UP_ROUNDS:
                    samples[label].append(time.perf_counter() - started)
    print(f"PeopleView.page in process (as pcem_api, no HTTP), {runs} calls per filter; {busy()}:")
    for label, seconds in samples.items():
        print(f"  {label:<48} {percentiles(seconds)}")
    print(flush=True)


async def explain_all(url: str, user: str) -> None:
    """Each filter's plans, logged by auto_explain as ``PeopleView.page`` runs it."""
    plans: list[str] = []

    async def configure(conn: psycopg.AsyncConnection[Any]) -> None:
        for statement in EXPLAIN_SETTINGS:
            await conn.execute(statement)
        conn.add_notice_handler(lambda diagnostic: plans.append(diagnostic.message_primary or ""))

    pool = AsyncConnectionPool(
        url, min_size=1, max_size=1, kwargs=AS_THE_API, configure=configure, open=False
    )
    async with pool:
        view = PeopleView(pool)
        for label, params in FILTERS.items():
            await view.page(user, as_filter(params), after=None, limit=51)  # plans cached
            plans.clear()
            await view.page(user, as_filter(params), after=None, limit=51)
            shown = [plan_only(plan) for plan in plans if plan.count("\n") > 2]  # not set_config's
            print(f"== {label}\n" + "\n".join(shown), flush=True)


def as_filter(params: dict[str, str]) -> PeopleFilter:
    keys = (params["has_key"],) if "has_key" in params else ()
    return PeopleFilter(q=params.get("q"), has_keys=keys, meta=json.loads(params.get("meta", "{}")))


def plan_only(message: str) -> str:
    """auto_explain's message without its query text: from the first plan node on."""
    lines = message.splitlines()
    first = next(i for i, line in enumerate(lines) if "(cost=" in line)
    return "\n".join([lines[0], *lines[first:]])


if __name__ == "__main__":
    main()
