"""What one delivery costs PCEM in-process, and how many PostgreSQL round trips it makes.

    .venv/bin/python benchmarks/delivery_cost.py [--count 2000] [--batch 200]

On a fresh database (PCEM_BENCH_ADMIN_URL), ``--count`` reminders due now over a
webhook channel pointing at the benchmark's local receiver (its own process, as
in benchmarks/notifications.py). One tick makes them notifications (timed: the
tick's share of the peak minute), then this process calls the worker's own
``Delivery.deliver`` (built by ``ProcessManager``, as ``pcem worker`` builds it)
for each, one after the other: no broker, no Celery, so what is timed is PCEM's
own work per delivery — claim, still-wanted check, signing, the POST, settle.

Round trips are counted by wrapping ``psycopg.Connection.wait`` (every query,
``BEGIN``, ``COMMIT``, ``ROLLBACK`` and pool pre-ping waits there once) in this
process only. Prints the median and p90 of each batch of ``--batch``
deliveries, their median (the machine is shared: batches show the drift), and
the CPU time a delivery took in this process and in its PostgreSQL backends
(from /proc: the server must be local; less disturbed by neighbours than wall
time).
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from celery import Celery
from machine import describe  # benchmarks/machine.py (scripts run from this folder)
from notifications import REDIS_URL, fresh_database, insert_reminders, start_receiver, stop

from pcem.logs import configure_logging
from pcem.migrate import migrate
from pcem.processors.tasks import ProcessManager
from pcem.settings import load_settings
from pcem.wiring import build_container

ROUND_TRIPS = [0]


def count_round_trips() -> None:
    wait = psycopg.Connection.wait

    def counted(self: psycopg.Connection[Any], *args: Any, **kwargs: Any) -> Any:
        ROUND_TRIPS[0] += 1
        return wait(self, *args, **kwargs)

    psycopg.Connection.wait = counted  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="deliveries timed")
    parser.add_argument("--batch", type=int, default=200, help="deliveries a batch")
    args = parser.parse_args()
    print(describe(), flush=True)
    count_round_trips()
    receiver, receiver_url = start_receiver(Path(tempfile.mkdtemp(prefix="pcem_cost_")))
    try:
        with fresh_database() as (_, url):
            env = {
                "PCEM_DATABASE_URL": url,
                "PCEM_REDIS_URL": REDIS_URL,
                "PCEM_LOG_LEVEL": "WARNING",
                "PCEM_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
            }
            settings = load_settings(env)
            configure_logging(settings, "worker")  # as `pcem worker` does
            migrate(settings.require_database())
            due = time.time()
            insert_reminders(url, receiver_url + "/cost", args.count, due, "cost")
            container = build_container(settings, role="worker", pool_size=4)
            manager = ProcessManager(container, Celery(set_as_current=False))
            try:
                measure(manager, args.count, args.batch)
            finally:
                container.close()
    finally:
        stop(receiver)


def measure(manager: ProcessManager, count: int, batch: int) -> None:
    now = datetime.now(UTC)
    started, trips = time.perf_counter(), ROUND_TRIPS[0]
    manager.ledger.tick(now)
    print(
        f"tick: {count:,} notifications made in {time.perf_counter() - started:.3f} s,"
        f" {ROUND_TRIPS[0] - trips} round trips"
    )
    with psycopg.connect(manager.container.database.url) as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM notifications ORDER BY id")]
    delivery = manager.delivery
    delivery.deliver(ids.pop(), now)  # the delivery pool is open and connected
    outcomes: dict[str, int] = {}
    backends = backend_cpu(manager.container.database.url)
    medians, trips_before, cpu_before = [], ROUND_TRIPS[0], time.process_time()
    for start in range(0, len(ids), batch):
        times = []
        for notification_id in ids[start : start + batch]:
            began = time.perf_counter()
            outcome = delivery.deliver(notification_id, now)
            times.append((time.perf_counter() - began) * 1000)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        quantiles = statistics.quantiles(times, n=10)
        medians.append(statistics.median(times))
        print(
            f"  batch {start // batch + 1}: median {medians[-1]:.3f} ms, p90 {quantiles[-1]:.3f} ms"
        )
    cpu = (time.process_time() - cpu_before) * 1000 / len(ids)
    after = backend_cpu(manager.container.database.url)
    database_cpu = sum(t - backends.get(pid, 0.0) for pid, t in after.items()) * 1000 / len(ids)
    per_delivery = (ROUND_TRIPS[0] - trips_before) / len(ids)
    print(
        f"{len(ids):,} deliveries {outcomes}: median of batch medians"
        f" {statistics.median(medians):.3f} ms a delivery; CPU a delivery {cpu:.3f} ms in"
        f" this process, {database_cpu:.3f} ms in its PostgreSQL backends;"
        f" {per_delivery:.2f} PostgreSQL round trips a delivery"
    )


def backend_cpu(url: str) -> dict[int, float]:
    """CPU seconds so far of this process's PostgreSQL backends (by application_name)."""
    with psycopg.connect(url, autocommit=True) as conn:
        pids = [
            row[0]
            for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name LIKE %s",
                [f"pcem worker%:{os.getpid()}"],
            )
        ]
    ticks = os.sysconf("SC_CLK_TCK")
    times = {}
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        times[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return times


if __name__ == "__main__":
    main()
