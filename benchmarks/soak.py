"""Soak: minutes of mixed load on real `pcem api` and `pcem projector` processes,
then proof that nothing was lost.

    PYTHONPATH=.. python soak.py [--duration 300] [--clients 32] [--users 1000]

Against a fresh database on PostgreSQL (PCEM_BENCH_ADMIN_URL) and Redis
(PCEM_BENCH_REDIS_URL), loopback only. 32 clients create, change and read
people across 1,000 users (tests/load.py: the same load as the fault tests).
It prints throughput, latency percentiles, answers by status, each process's
resident memory at the start and the end; then it checks that the events
stored are exactly the commands acknowledged (tests/reliability.py) and that
`pcem projections verify people` is clean. Exit status 1 if any check fails.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from pathlib import Path

import psutil
import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/ helpers

from machine import describe  # benchmarks/machine.py (scripts run from this folder)

from tests.conftest import settings_for
from tests.e2e.fault_fixtures import tokens_for
from tests.load import Load, Outcome
from tests.reliability import Pcem, pcem_running, tally, verify_read_models

ADMIN_URL = os.environ.get("PCEM_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("PCEM_BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
MIB = 1024 * 1024


def main() -> int:
    args = parse_args()
    print(describe())
    name = f"pcem_soak_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        return soak(ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", name, args)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=300, help="seconds of load (300)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (32)")
    parser.add_argument("--users", type=int, default=1000, help="users the load spans (1000)")
    parser.add_argument("--seed", type=int, default=1, help="the load's random seed (1)")
    return parser.parse_args()


def soak(database_url: str, run: str, args: argparse.Namespace) -> int:
    settings = settings_for(database_url, REDIS_URL)
    tokens = tokens_for(settings, args.users, prefix=run)  # users of this run only
    with pcem_running(settings) as pcem:
        start_rss = memory(pcem)
        load = Load(pcem.url, tokens, args.clients, seed=args.seed).start()
        started = time.monotonic()
        time.sleep(args.duration)  # the soak's length itself, not a wait for something
        outcome = load.stop()
        elapsed = time.monotonic() - started
        end_rss = memory(pcem)
        report(outcome, elapsed, args, start_rss, end_rss)
        counted = tally(database_url, outcome)
        verified = verify_read_models(settings)
    server_errors = sum(outcome.server_errors().values())
    print(verified.strip())
    print(f"{counted.summary()}, {len(counted.misplaced)} misplaced")
    print(f"{server_errors} server errors")
    clean = not (counted.lost or counted.duplicated or counted.leaked or counted.misplaced)
    return 0 if clean and server_errors == 0 else 1


def memory(pcem: Pcem) -> dict[str, float]:
    return {
        "api": psutil.Process(pcem.api.pid).memory_info().rss / MIB,
        "projector": psutil.Process(pcem.projector.pid).memory_info().rss / MIB,
    }


def report(
    outcome: Outcome,
    elapsed: float,
    args: argparse.Namespace,
    start_rss: dict[str, float],
    end_rss: dict[str, float],
) -> None:
    requests = len(outcome.latencies)
    commands = len(outcome.acknowledged)
    print(f"{args.clients} clients, {args.users} users, {elapsed:.0f} s, seed {args.seed}")
    print(f"throughput: {requests / elapsed:.1f} requests/s, {commands / elapsed:.1f} commands/s")
    print(
        f"latency: p50 {outcome.median() * 1000:.1f} ms, p95 {outcome.percentile(0.95) * 1000:.1f}"
        f" ms, p99 {outcome.percentile(0.99) * 1000:.1f} ms, max {outcome.slowest * 1000:.0f} ms"
    )
    for key, n in sorted(outcome.statuses.items()):
        print(f"  {key}: {n}")
    for process in start_rss:
        print(f"rss {process}: {start_rss[process]:.0f} MiB -> {end_rss[process]:.0f} MiB")


if __name__ == "__main__":
    sys.exit(main())
