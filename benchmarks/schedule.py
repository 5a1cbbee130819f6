"""The notification schedule at scale: its size, the keeper's daily step, the scheduler's sweep.

Fills a fresh database's read tables by SQL (generate_series): users with 20
special yearly birthdays each (one person per birthday, random dates), and
settings as API.md's example shapes them (8 zones, lead times [7, 1, 0],
09:00, channels email and in_app). Then, with PCEM's own code:
  * fills the schedule as the keeper would from an empty window ("full pass");
  * times one day's move of the window (``extend_schedule``, rolled back);
and measures, with EXPLAIN (ANALYZE, BUFFERS) and 200 timed runs each:
  * the scheduler's sweep: due scheduled rows, oldest first, 1,000, FOR UPDATE
    SKIP LOCKED (in a transaction that is rolled back, so every run finds the same);
  * the same sweep skipping rows a ledger already holds (NOT EXISTS), with every
    row due more than a minute ago in that ledger - what the sweep costs when
    it has to step over what it handled before;
then adds synthetic rows by generate_series (copies with other channel keys)
until the table is ``--grow`` times larger and measures the sweep again.

Usage: .venv/bin/python benchmarks/schedule.py [--users 100000] [--grow 2]
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import statistics
import time
from datetime import UTC, datetime, timedelta

import psycopg
from fresh import fresh_database  # benchmarks/fresh.py
from machine import describe  # benchmarks/machine.py (scripts run from this folder)
from sqlalchemy import create_engine

from pcem.migrate import migrate
from pcem.projections.horizon import Horizon
from pcem.projections.schedule import extend_schedule
from pcem.settings import load_settings

ADMIN_URL = os.environ.get("PCEM_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ZONES = ["UTC", "Europe/Berlin", "America/Los_Angeles", "Pacific/Auckland", "Asia/Kathmandu",
         "America/St_Johns", "Australia/Lord_Howe", "Pacific/Kiritimati"]  # fmt: skip
EVENTS_PER_USER = 20

FILL = """
INSERT INTO people (id, user_id, first_name, last_name, metadata, version, created_at, updated_at)
SELECT md5('p' || u || '-' || e)::uuid, 'bench-' || u, 'First' || e, 'Last' || u, '{}', 1, now(), now()
FROM generate_series(0, %(users)s - 1) u, generate_series(0, %(events)s - 1) e;
INSERT INTO events (id, user_id, person_id, title, event_date, all_day, is_special_event,
                    recurrence, notes, version, created_at, updated_at)
SELECT md5('e' || u || '-' || e)::uuid, 'bench-' || u, md5('p' || u || '-' || e)::uuid,
       'Birthday', to_char(date '1950-01-01' + ((u * 7919 + e * 104729) %% 27000), 'YYYY-MM-DD'),
       true, true, 'yearly', '', 1, now(), now()
FROM generate_series(0, %(users)s - 1) u, generate_series(0, %(events)s - 1) e;
INSERT INTO user_settings (user_id, timezone, notifications, version, updated_at)
SELECT 'bench-' || u, (%(zones)s::text[])[1 + u %% %(n)s],
       jsonb_build_object('enabled', true, 'lead_time_days', jsonb_build_array(7, 1, 0),
                          'delivery_time', '09:00',
                          'channels', jsonb_build_array(
                              jsonb_build_object('type', 'email', 'address', 'u' || u || '@example.org'),
                              jsonb_build_object('type', 'in_app'))),
       1, now()
FROM generate_series(0, %(users)s - 1) u;
INSERT INTO projection_tracking (name) SELECT 'people_and_dates' WHERE %(n)s > 0
"""
SWEEP = (
    "SELECT id, user_id, due_at FROM notification_schedule"
    " WHERE status = 'scheduled' AND due_at <= now()"
    " ORDER BY due_at LIMIT 1000 FOR UPDATE SKIP LOCKED"
)
SWEEP_PAST_LEDGER = (
    "SELECT s.id, s.user_id, s.due_at FROM notification_schedule s"
    " WHERE s.status = 'scheduled' AND s.due_at <= now()"
    " AND NOT EXISTS (SELECT 1 FROM ledger l WHERE l.id = s.id)"
    " ORDER BY s.due_at LIMIT 1000 FOR UPDATE OF s SKIP LOCKED"
)
LEDGER = """
CREATE TABLE ledger (id uuid PRIMARY KEY);
INSERT INTO ledger SELECT id FROM notification_schedule
WHERE status = 'scheduled' AND due_at <= now() - interval '1 minute';
VACUUM ANALYZE ledger
"""
GROW = """
INSERT INTO notification_schedule
SELECT gen_random_uuid(), user_id, event_id, person_id, channel, channel_key || '/' || %(copy)s,
       lead_time_days, occurrence_date, occurs_at, due_at, status, cancel_reason, person_name, title
FROM notification_schedule WHERE channel_key NOT LIKE '%%/%%'
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--grow", type=int, default=2, help="then this many times the rows")
    args = parser.parse_args()
    print(describe(), flush=True)
    with fresh_database(ADMIN_URL) as url:
        run(url, args)


def run(url: str, args: argparse.Namespace) -> None:
    env = {"PCEM_DATABASE_URL": url, "PCEM_REDIS_URL": "redis://127.0.0.1:6379/8",
           "PCEM_JWT_SECRET": secrets.token_urlsafe(40), "PCEM_LOG_LEVEL": "WARNING",
           "PCEM_MASTER_KEY": base64.b64encode(os.urandom(32)).decode()}  # fmt: skip
    settings = load_settings(env)
    migrate(settings.require_database())
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in FILL.split(";\n"):
            conn.execute(statement, {"users": args.users, "events": EVENTS_PER_USER,
                                     "zones": ZONES, "n": len(ZONES)})  # fmt: skip
    events = args.users * EVENTS_PER_USER
    print(f"{args.users:,} users, {events:,} special events\n")
    fill_schedule(settings.require_database().sqlalchemy_url, events)
    with psycopg.connect(url, autocommit=True, options="-c timezone=UTC") as conn:
        conn.execute("VACUUM ANALYZE notification_schedule")
        describe_table(conn)
        measure_sweep(conn, "sweep", SWEEP)
        for statement in LEDGER.split(";\n"):
            conn.execute(statement)
        skipped = conn.execute("SELECT count(*) FROM ledger").fetchone()[0]  # type: ignore[index]
        measure_sweep(
            conn, f"sweep stepping over {skipped:,} rows in the ledger", SWEEP_PAST_LEDGER
        )
        conn.execute("DROP TABLE ledger")
        for copy in range(1, args.grow):
            conn.execute(GROW, {"copy": copy})
        conn.execute("VACUUM ANALYZE notification_schedule")
        describe_table(conn)
        measure_sweep(conn, f"sweep, {args.grow} x the rows", SWEEP)


def fill_schedule(engine_url: str, events: int) -> None:
    engine = create_engine(engine_url)
    today = datetime.now(UTC).date()
    horizon = Horizon.around(today)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE occurrence_horizon SET starts_at = %(s)s, ends_at = %(e)s",
            {"s": horizon.starts_at, "e": horizon.ends_at},
        )
        started = time.perf_counter()
        extend_schedule(conn, Horizon.around(today - timedelta(days=400)), horizon)
        full = time.perf_counter() - started
    with engine.connect() as conn, conn.begin() as transaction:
        started = time.perf_counter()
        extend_schedule(conn, horizon, Horizon.around(today + timedelta(days=1)))
        added = conn.exec_driver_sql(
            "SELECT count(*) FROM notification_schedule WHERE due_at >= %(d)s",
            {"d": horizon.schedule[1]},
        ).scalar_one()
        step = time.perf_counter() - started
        transaction.rollback()
    engine.dispose()
    print(
        f"full pass (the keeper from an empty window): {full:.1f} s,"
        f" {full / events * 1e6:.1f} µs per special event"
    )
    print(f"one day's move of the window: {step:.1f} s, {step / events * 1e6:.1f} µs per special"
          f" event, {added:,} rows added\n")  # fmt: skip


def describe_table(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    row = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE status = 'scheduled' AND due_at <= now()),"
        " pg_table_size('notification_schedule'), pg_indexes_size('notification_schedule'),"
        " pg_relation_size('notification_schedule_due_idx')"
        " FROM notification_schedule"
    ).fetchone()
    assert row is not None
    rows, due, table, indexes, sweep_index = row
    print(f"notification_schedule: {rows:,} rows ({due:,} scheduled and due now),"
          f" table {table / 2**20:.0f} MiB, indexes {indexes / 2**20:.0f} MiB"
          f" (due_at partial index {sweep_index / 2**20:.0f} MiB):"
          f" {(table + indexes) / rows:.0f} bytes a row")  # fmt: skip


def measure_sweep(conn: psycopg.Connection[tuple[object, ...]], label: str, query: str) -> None:
    with conn.transaction(force_rollback=True):
        plan = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + query).fetchall()
    samples = []
    for _ in range(200):
        with conn.transaction(force_rollback=True):
            started = time.perf_counter()
            claimed = conn.execute(query).fetchall()
            samples.append(time.perf_counter() - started)
    ms = sorted(s * 1000 for s in samples)
    q = statistics.quantiles(ms, n=100)
    print(f"{label}: {len(claimed)} rows claimed, p50 {q[49]:.2f} ms, p95 {q[94]:.2f} ms")
    print("\n".join("    " + str(line[0]) for line in plan) + "\n", flush=True)


if __name__ == "__main__":
    main()
