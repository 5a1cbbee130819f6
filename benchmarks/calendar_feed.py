"""The calendar feed of a user with 1,000 events, over HTTP.

Fills the read tables of a fresh database by SQL (100 users x 1,000 events: all-day
birthdays and anniversaries, monthly ones on the 29th-31st, weekly and timed series,
one-offs; every user in Europe/Berlin, so timed series carry a VTIMEZONE), gives
each user a feed, then measures `GET /feeds/calendar/{token}.ics` with `pcem api` on
loopback, one sequential keep-alive client (http.client), random users:
  * 200: the whole feed (~300 KB), and 304: the same with a current If-None-Match
    (the feed is still read and rendered: its ETag is the content's);
  * beside them, in the same run: `GET /health/live` (the bare HTTP round trip),
    the feed's SQL alone (one snapshot, as the API sends it) and the rendering
    alone (pcem.projections.ical_feed.render over the 1,000 rows).
Prints p50/p95/p99.

Usage: .venv/bin/python benchmarks/calendar_feed.py [--users 100] [--events 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import http.client
import os
import random
import secrets
import subprocess
import sys
import time
from zoneinfo import ZoneInfo

import psycopg
from fresh import fresh_database  # benchmarks/fresh.py
from machine import describe  # benchmarks/machine.py (scripts run from this folder)
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool
from timing import percentiles, timed  # benchmarks/timing.py

from pcem.aggregates.settings import Preferences
from pcem.identity.calendar_feeds import token_hash
from pcem.migrate import migrate
from pcem.projections.calendar_feed_view import EVENTS, CalendarFeedView
from pcem.projections.ical_feed import FeedEvent, render
from pcem.settings import load_settings

ADMIN_URL = os.environ.get("PCEM_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("PCEM_BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
PORT = 8769

FILL_PEOPLE = """
INSERT INTO people (id, user_id, first_name, last_name, version, created_at, updated_at)
SELECT md5('p' || u || '-' || p)::uuid, 'bench-' || u, 'Person', 'Number ' || p, 1, now(), now()
FROM generate_series(0, %(users)s - 1) u, generate_series(0, 199) p
"""
# Per 100 events: 60 yearly, 10 one-off, 10 monthly (4 on the 29th-31st), all day;
# 5 weekly, 10 yearly or monthly and 5 one-off timed.
FILL_EVENTS = """
INSERT INTO events (id, user_id, person_id, title, event_date, all_day, is_special_event,
                    recurrence, notes, version, created_at, updated_at)
SELECT md5('e' || u || '-' || e)::uuid, 'bench-' || u, md5('p' || u || '-' || (e %% 200))::uuid,
       'Event, number ' || e || '; with a title of some length',
       CASE WHEN e %% 100 < 70 THEN
                to_char(date '1950-01-01' + ((u * 7919 + e * 104729) %% 27000), 'YYYY-MM-DD')
            WHEN e %% 100 < 80 THEN to_char(date '2024-01-28' + (e %% 4), 'YYYY-MM-DD')
            ELSE to_char(timestamp '2020-01-01' + ((u * 31 + e * 17) %% 2000) * interval '1 day'
                         + ((u + e) %% 24) * interval '1 hour', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') END,
       e %% 100 < 80, e %% 2 = 0,
       CASE WHEN e %% 100 < 60 THEN 'yearly' WHEN e %% 100 < 70 THEN 'none'
            WHEN e %% 100 < 80 THEN 'monthly' WHEN e %% 100 < 85 THEN 'weekly'
            WHEN e %% 100 < 90 THEN 'yearly' WHEN e %% 100 < 95 THEN 'monthly' ELSE 'none' END,
       CASE WHEN e %% 10 = 0 THEN 'Notes: bring flowers,
and a card' ELSE '' END, 1, now(), now()
FROM generate_series(0, %(users)s - 1) u, generate_series(0, %(events)s - 1) e
"""
FILL_SETTINGS = """
INSERT INTO user_settings (user_id, timezone, notifications, version, updated_at)
SELECT 'bench-' || u, 'Europe/Berlin', %(notifications)s, 1, now()
FROM generate_series(0, %(users)s - 1) u
"""
FILL_FEED = "INSERT INTO calendar_feeds (user_id, token_hash, created_at) VALUES (%s, %s, now())"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--events", type=int, default=1000, help="events per user")
    parser.add_argument("--runs", type=int, default=1000, help="requests per measurement")
    args = parser.parse_args()
    print(describe(), flush=True)
    with fresh_database(ADMIN_URL) as url:
        run(url, args)


def run(url: str, args: argparse.Namespace) -> None:
    env = {**os.environ, "PCEM_DATABASE_URL": url, "PCEM_REDIS_URL": REDIS_URL,
           "PCEM_JWT_SECRET": secrets.token_urlsafe(40), "PCEM_LOG_LEVEL": "WARNING",
           "PCEM_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
           "PCEM_RATE_LIMIT_FEED_PER_MINUTE": "10000000"}  # fmt: skip
    migrate(load_settings(env).require_database())
    tokens = load(url, args)
    measure_parts(url, args)
    api = subprocess.Popen(
        [sys.executable, "-m", "pcem.cli.main", "api", "--port", str(PORT)], env=env
    )
    try:
        measure_http(tokens, args)
    finally:
        api.terminate()
        api.wait(timeout=20)


def load(url: str, args: argparse.Namespace) -> list[str]:
    notifications = Jsonb(Preferences().as_dict()["notifications"])
    tokens = [secrets.token_urlsafe(32) for _ in range(args.users)]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(FILL_PEOPLE, {"users": args.users})
        conn.execute(FILL_EVENTS, {"users": args.users, "events": args.events})
        conn.execute(FILL_SETTINGS, {"users": args.users, "notifications": notifications})
        with conn.cursor() as cursor:
            rows = [(f"bench-{u}", token_hash(t)) for u, t in enumerate(tokens)]
            cursor.executemany(FILL_FEED, rows)
        conn.execute("ANALYZE")
    return tokens


def measure_parts(url: str, args: argparse.Namespace) -> None:
    rng = random.Random(7)

    async def sql_and_render() -> None:
        async with AsyncConnectionPool(
            url, min_size=1, max_size=1, kwargs={"autocommit": True, "options": "-c timezone=UTC"}
        ) as pool:
            view = CalendarFeedView(pool)
            user = f"bench-{rng.randrange(args.users)}"

            async def rows() -> list[FeedEvent]:
                async with view.reads.snapshot(user, binary=True) as snapshot:
                    [found] = await snapshot.fetchall((EVENTS, {"user_id": user}), last=True)
                return [FeedEvent(*row) for row in found]

            events = await rows()
            zone = ZoneInfo("Europe/Berlin")
            print(f"one feed: {len(events)} events, {len(render(events, zone)):,} bytes")
            samples = []
            for _ in range(args.runs):
                started = time.perf_counter()
                await rows()
                samples.append(time.perf_counter() - started)
            print(f"SQL    the feed's events, one snapshot: {percentiles(samples)}")
            print(f"render 1,000 events to bytes:          "
                  f"{percentiles(timed(args.runs, lambda: render(events, zone)))}")  # fmt: skip

    asyncio.run(sql_and_render())


def measure_http(tokens: list[str], args: argparse.Namespace) -> None:
    rng = random.Random(11)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if _get(http.client.HTTPConnection("127.0.0.1", PORT), "/health/ready", {})[0] == 200:
                break
        except OSError:
            time.sleep(0.2)
    client = http.client.HTTPConnection("127.0.0.1", PORT)
    tags = {}
    for token in tokens:
        status, headers, _ = _fetch(client, f"/feeds/calendar/{token}.ics", {})
        assert status == 200
        tags[token] = headers["etag"]

    def feed(conditional: bool) -> None:
        token = rng.choice(tokens)
        sent = {"If-None-Match": tags[token]} if conditional else {}
        status, _, _ = _fetch(client, f"/feeds/calendar/{token}.ics", sent)
        assert status == (304 if conditional else 200)

    live = timed(args.runs, lambda: _get(client, "/health/live", {}))
    print(f"HTTP   bare: GET /health/live:         {percentiles(live)}")
    for conditional in (False, True):
        timed(50, lambda c=conditional: feed(c))
        label = "304 (If-None-Match)" if conditional else "200 (the whole feed)"
        print(f"HTTP   feed, {label:<22}   "
              f"{percentiles(timed(args.runs, lambda c=conditional: feed(c)))}")  # fmt: skip
    client.close()


def _get(
    client: http.client.HTTPConnection, path: str, headers: dict[str, str]
) -> tuple[int, bytes]:
    status, _, body = _fetch(client, path, headers)
    return status, body


def _fetch(
    client: http.client.HTTPConnection, path: str, headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    client.request("GET", path, headers=headers)
    response = client.getresponse()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


if __name__ == "__main__":
    main()
