"""The upcoming query at scale: 10,000 users × 100 events (1,000,000 events).

Fills the read tables of a fresh database (people and events by SQL; the
occurrences by PCEM's own horizon keeper, the code the projector runs), then
measures `GET /api/v1/events/upcoming` for 30 and 366 days:
  * in SQL: the query the API sends, prepared, binary, on one connection, random
    users - once until libpq holds every row ("received"), once until the rows
    are the API's Occurrence objects ("as objects", what the API waits for);
  * through HTTP: `pcem api` on loopback, one sequential keep-alive client
    (http.client: httpx itself took 1.3-2.3 ms a request on the development
    machine, which is the client's time, not the service's);
  * beside them, a bare index range scan over a 1,000,000-row table in the same run;
  * and, for scale, a 366-day range past the materialised horizon, which the API
    computes from the user's events instead.
Prints p50/p95/p99 and the EXPLAIN plan.

Usage: .venv/bin/python benchmarks/upcoming.py [--users 10000] [--events-per-user 100]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import os
import random
import secrets
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

import psycopg
from fresh import fresh_database  # benchmarks/fresh.py
from machine import describe  # benchmarks/machine.py (scripts run from this folder)
from psycopg.types.json import Jsonb
from sqlalchemy import create_engine
from timing import percentiles, timed  # benchmarks/timing.py

from pcem.aggregates.settings import Preferences
from pcem.cli.tokens import mint_token
from pcem.migrate import migrate
from pcem.projections.calendar_view import CalendarView, Occurrence
from pcem.projector.horizon_keeper import advance_horizon
from pcem.settings import load_settings

ADMIN_URL = os.environ.get("PCEM_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("PCEM_BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
PORT = 8766
ZONES = ["UTC", "Europe/Berlin", "America/Los_Angeles", "Pacific/Auckland", "Asia/Kathmandu",
         "America/St_Johns", "Australia/Lord_Howe", "Pacific/Kiritimati"]  # fmt: skip

FILL_PEOPLE = """
INSERT INTO people (id, user_id, first_name, last_name, metadata, version, created_at, updated_at)
SELECT md5('p' || u || '-' || p)::uuid, 'bench-' || u, 'First' || p, 'Last' || u, '{}', 1, now(), now()
FROM generate_series(0, %(users)s - 1) u, generate_series(0, 19) p
"""
# Per user: 65 yearly, 15 one-off, 10 monthly (all day); 5 weekly and 5 yearly timed.
FILL_EVENTS = """
INSERT INTO events (id, user_id, person_id, title, event_date, all_day, is_special_event,
                    recurrence, notes, version, created_at, updated_at)
SELECT md5('e' || u || '-' || e)::uuid, 'bench-' || u, md5('p' || u || '-' || (e %% 20))::uuid,
       'Event ' || e,
       CASE WHEN e < 90 THEN to_char(date '1950-01-01' + ((u * 7919 + e * 104729) %% 27000), 'YYYY-MM-DD')
            ELSE to_char(timestamp '2020-01-01' + ((u * 31 + e * 17) %% 2000) * interval '1 day'
                         + ((u + e) %% 24) * interval '1 hour', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') END,
       e < 90, e %% 2 = 0,
       CASE WHEN e < 65 THEN 'yearly' WHEN e < 80 THEN 'none' WHEN e < 90 THEN 'monthly'
            WHEN e < 95 THEN 'weekly' ELSE 'yearly' END,
       '', 1, now(), now()
FROM generate_series(0, %(users)s - 1) u, generate_series(0, %(events)s - 1) e
"""
# Every user with the default notification settings (the horizon keeper reads them
# to extend the notification schedule, and refuses an empty object).
FILL_SETTINGS = """
INSERT INTO user_settings (user_id, timezone, notifications, version, updated_at)
SELECT 'bench-' || u, (%(zones)s::text[])[1 + u %% %(n)s], %(notifications)s, 1, now()
FROM generate_series(0, %(users)s - 1) u
"""
BARE = """
CREATE TABLE bare_scan (k int NOT NULL, at timestamptz NOT NULL, payload text NOT NULL);
INSERT INTO bare_scan SELECT i % 10000, now() + (i / 10000) * interval '4 days', 'x'
FROM generate_series(0, 999999) i;
CREATE INDEX bare_scan_idx ON bare_scan (k, at);
ANALYZE bare_scan;
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--events-per-user", type=int, default=100)
    parser.add_argument("--runs", type=int, default=2000, help="queries per measurement")
    args = parser.parse_args()
    print(describe(), flush=True)
    with fresh_database(ADMIN_URL) as url:
        run(url, args)


def run(url: str, args: argparse.Namespace) -> None:
    env = {**os.environ, "PCEM_DATABASE_URL": url, "PCEM_REDIS_URL": REDIS_URL,
           "PCEM_JWT_SECRET": secrets.token_urlsafe(40), "PCEM_LOG_LEVEL": "WARNING",
           "PCEM_MASTER_KEY": base64.b64encode(os.urandom(32)).decode()}  # fmt: skip
    settings = load_settings(env)
    migrate(settings.require_database())
    load(url, settings.require_database().sqlalchemy_url, args)
    with psycopg.connect(url, autocommit=True, options="-c timezone=UTC") as conn:  # as the API
        measure_sql(conn, args)
    api = subprocess.Popen(
        [sys.executable, "-m", "pcem.cli.main", "api", "--port", str(PORT)], env=env
    )
    try:
        measure_http(settings, args)
    finally:
        api.terminate()
        api.wait(timeout=20)


def load(url: str, engine_url: str, args: argparse.Namespace) -> None:
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(FILL_PEOPLE, {"users": args.users})
        conn.execute(FILL_EVENTS, {"users": args.users, "events": args.events_per_user})
        notifications = Jsonb(Preferences().as_dict()["notifications"])
        conn.execute(
            FILL_SETTINGS,
            {"users": args.users, "zones": ZONES, "n": len(ZONES), "notifications": notifications},
        )
        conn.execute(
            "UPDATE occurrence_horizon SET starts_at = '2000-01-01', ends_at = '2000-01-02'"
        )
        conn.execute(BARE)
    engine = create_engine(engine_url)
    with engine.begin() as c:
        c.exec_driver_sql("INSERT INTO projection_tracking (name) VALUES ('people_and_dates')")
    advance_horizon(engine, datetime.now(UTC).date())  # materialises every occurrence
    engine.dispose()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE occurrences")
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM occurrences)"
        ).fetchone()
    assert counts is not None
    print(f"loaded {args.users:,} users, {counts[0]:,} events, {counts[1]:,} materialised occurrences"
          f" in {time.perf_counter() - started:.0f} s\n")  # fmt: skip


def window(user: int, days: int) -> tuple[str, datetime, datetime, date]:
    """The user's id, the UTC range of their next ``days`` local days, their today."""
    zone = ZoneInfo(ZONES[user % len(ZONES)])
    today = datetime.now(UTC).astimezone(zone).date()
    start = datetime.combine(today, clock(0), tzinfo=zone).astimezone(UTC)
    return f"bench-{user}", start, start + timedelta(days=days), today


def measure_sql(conn: psycopg.Connection[object], args: argparse.Namespace) -> None:
    rng = random.Random(7)
    cursor = conn.cursor(binary=True)

    def params(days: int) -> dict[str, object]:
        user_id, start, end, today = window(rng.randrange(args.users), days)
        return {
            "user_id": user_id,
            "start": start,
            "end": end,
            "special_only": False,
            "today": today,
        }

    def received(days: int) -> None:
        cursor.execute(CalendarView.UPCOMING, params(days), prepare=True)

    def as_objects(days: int) -> None:
        rows = cursor.execute(CalendarView.UPCOMING, params(days), prepare=True).fetchall()
        [Occurrence(*row) for row in rows]  # as CalendarView.upcoming builds them

    def bare() -> None:
        start = datetime.now(UTC) + timedelta(days=rng.randrange(300))
        conn.execute("SELECT k, at, payload FROM bare_scan WHERE k = %s AND at >= %s AND at < %s",
                     (rng.randrange(10000), start, start + timedelta(days=30)), prepare=True).fetchall()  # fmt: skip

    for days in (30, 366):
        _, start, end, _ = window(1, days)
        found = conn.execute(
            "SELECT count(*) FROM occurrences WHERE user_id = 'bench-1'"
            " AND occurs_at >= %s AND occurs_at < %s",
            (start, end),
        ).fetchone()
        print(f"SQL  upcoming {days:>3} days ({found[0] if found else 0} rows for bench-1):")
        for name, query in (("received", received), ("as objects", as_objects)):
            timed(200, lambda q=query, d=days: q(d))  # warm up
            samples = timed(args.runs, lambda q=query, d=days: q(d))
            print(f"     {name:<10}  {percentiles(samples)}")
    timed(200, bare)
    print(
        f"SQL  bare index range scan, 1,000,000 rows (~8 rows): {percentiles(timed(args.runs, bare))}\n"
    )
    plan = conn.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + CalendarView.UPCOMING,
                        {**params(366), "user_id": "bench-1"}).fetchall()  # fmt: skip
    print("EXPLAIN (366 days, bench-1):\n" + "\n".join(str(r[0]) for r in plan) + "\n")


def measure_http(settings: object, args: argparse.Namespace) -> None:
    rng = random.Random(11)
    tokens = {
        u: mint_token(settings.jwt, f"bench-{u}", ttl=timedelta(hours=1))
        for u in range(0, args.users, max(args.users // 500, 1))
    }  # type: ignore[attr-defined]
    users = list(tokens)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if _get(http.client.HTTPConnection("127.0.0.1", PORT), "/health/ready", {})[0] == 200:
                break
        except OSError:
            time.sleep(0.2)
    client = http.client.HTTPConnection("127.0.0.1", PORT)

    def upcoming(days: int) -> None:
        user = rng.choice(users)
        headers = {"Authorization": f"Bearer {tokens[user]}"}
        status, body = _get(client, f"/api/v1/events/upcoming?days={days}", headers)
        assert status == 200, body

    for days in (30, 366):
        timed(100, lambda d=days: upcoming(d))
        print(
            f"HTTP upcoming {days:>3} days: {percentiles(timed(args.runs // 2, lambda d=days: upcoming(d)))}"
        )
    # Past the materialised horizon the API expands the user's 100 events in Python.
    later = datetime.now(UTC) + timedelta(days=800)
    beyond = f"from={later:%Y-%m-%dT00:00:00Z}&to={later + timedelta(days=366):%Y-%m-%dT00:00:00Z}"

    def computed() -> None:
        user = rng.choice(users)
        headers = {"Authorization": f"Bearer {tokens[user]}"}
        status, body = _get(client, f"/api/v1/events/upcoming?{beyond}", headers)
        assert status == 200, body

    timed(20, computed)
    print(
        f"HTTP upcoming 366 days beyond the horizon (computed): {percentiles(timed(args.runs // 4, computed))}"
    )
    client.close()


def _get(
    client: http.client.HTTPConnection, path: str, headers: dict[str, str]
) -> tuple[int, bytes]:
    client.request("GET", path, headers=headers)
    response = client.getresponse()
    return response.status, response.read()


if __name__ == "__main__":
    main()
