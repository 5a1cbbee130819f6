"""Soak: minutes of mixed load on real `pcem api`, `pcem projector`, `pcem worker`
and `pcem scheduler` processes, then proof that nothing was lost.

    PYTHONPATH=.. python soak.py [--duration 300] [--clients 32] [--users 1000]
                                 [--reminders 50]

Against a fresh database on PostgreSQL (PCEM_BENCH_ADMIN_URL) and Redis
(PCEM_BENCH_REDIS_URL), loopback only. 32 clients create, change and read
people across 1,000 users (tests/load.py: the same load as the fault tests).
It prints throughput, latency percentiles, answers by status, each process's
resident memory at the start and the end; then it checks that the events
stored are exactly the commands acknowledged (tests/reliability.py) and that
`pcem projections verify people_and_dates` is clean. Meanwhile 50 of the users have a
webhook reminder each, due at the whole minutes of the run (soak_reminders.py,
the broker on the same Redis database); once the last is due (and at most a
minute more) it checks that each was delivered once, to its own user's hook.
Exit status 1 if any check fails.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from contextlib import ExitStack, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/ helpers

from machine import describe  # benchmarks/machine.py (scripts run from this folder)
from soak_reminders import Reminders, webhook_receiver

from pcem.wiring import build_container
from tests.conftest import settings_for
from tests.e2e.fault_fixtures import tokens_for
from tests.e2e.notification_helpers import process as pcem_process
from tests.load import Load, Outcome
from tests.polling import wait_until
from tests.reliability import pcem_running, tally, verify_read_models

ADMIN_URL = os.environ.get("PCEM_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("PCEM_BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
MIB = 1024 * 1024
SCHEDULER_TICK_SECONDS = "5"  # a reminder goes out within a tick of its due time
WORKER_POOL = 2  # `pcem worker`'s default concurrency


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
    parser.add_argument(
        "--reminders", type=int, default=50, help="users with a webhook reminder due (50)"
    )
    return parser.parse_args()


def soak(database_url: str, run: str, args: argparse.Namespace) -> int:
    settings = settings_for(database_url, REDIS_URL)
    tokens = tokens_for(settings, args.users, prefix=run)  # users of this run only
    notifying = {
        "PCEM_BROKER_URL": REDIS_URL,
        "PCEM_SCHEDULER_TICK_SECONDS": SCHEDULER_TICK_SECONDS,
    }
    with (
        pcem_running(settings) as pcem,
        webhook_receiver() as (receiver, hook_url),
        ExitStack() as stack,
    ):
        processes = {
            "api": psutil.Process(pcem.api.pid),
            "projector": psutil.Process(pcem.projector.pid),
            "worker": stack.enter_context(
                pcem_process(settings, notifying, "worker", "--concurrency", str(WORKER_POOL))
            ),
            "scheduler": stack.enter_context(pcem_process(settings, notifying, "scheduler")),
        }
        worker = processes["worker"]  # its memory is its pool's too: measured once there
        wait_until(lambda: len(worker.children()) >= WORKER_POOL, 60, "the worker's pool")
        container = build_container(settings, pool_size=2)
        stack.callback(container.close)
        reminders = Reminders(receiver, hook_url)
        until = datetime.now(UTC) + timedelta(seconds=args.duration)
        reminders.arrange(container, list(tokens)[: args.reminders], until)
        start_rss = memory(processes)
        load = Load(pcem.url, tokens, args.clients, seed=args.seed).start()
        started = time.monotonic()
        time.sleep(args.duration)  # the soak's length itself, not a wait for something
        outcome = load.stop()
        elapsed = time.monotonic() - started
        end_rss = memory(processes)
        report(outcome, elapsed, args, start_rss, end_rss)
        counted = tally(settings, outcome)
        verified = verify_read_models(settings)
        wait_for_reminders(reminders, database_url)
        delivered = reminders.delivered(database_url)
    server_errors = sum(outcome.server_errors().values())
    print(verified.strip())
    print(f"{counted.summary()}, {len(counted.misplaced)} misplaced")
    print(f"{server_errors} server errors")
    print(f"{delivered.summary()} ({reminders.minutes()} due minutes)")
    for what, ids in (("missing", delivered.missing), ("twice", delivered.twice),
                      ("leaked", delivered.leaked), ("unknown", delivered.unknown)):  # fmt: skip
        if ids:
            print(f"  {what}: {', '.join(ids[:10])}")
    clean = not (counted.lost or counted.duplicated or counted.leaked or counted.misplaced)
    return 0 if clean and server_errors == 0 and delivered.clean() else 1


def wait_for_reminders(reminders: Reminders, database_url: str) -> None:
    """Until every reminder is sent, or the last is a minute overdue (the check says which)."""
    seconds = max(0.0, (reminders.deadline() - datetime.now(UTC)).total_seconds())
    with suppress(AssertionError):
        wait_until(lambda: reminders.all_sent(database_url), seconds, "the reminders to be sent")


def memory(processes: dict[str, psutil.Process]) -> dict[str, float]:
    """Resident memory of each process with its children (the worker's pool)."""
    return {
        name: sum(p.memory_info().rss for p in [parent, *parent.children(recursive=True)]) / MIB
        for name, parent in processes.items()
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
