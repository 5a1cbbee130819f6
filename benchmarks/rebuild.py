"""Rebuild every projection over a large event store; compare with a plain copy.

    .venv/bin/python benchmarks/rebuild.py --events 1000000

Creates a fresh database on the local PostgreSQL (dropped afterwards unless
--keep), loads person events in bulk (built through the real aggregates and
the application's mapper, then COPY'd), rebuilds every projection exactly as
`pcem projections rebuild --all` does, and, in the same run, times a plain
`INSERT ... SELECT` of the same number of rows into a copy of the event table.

The event mix, per person: created (with metadata), renamed (a name and a
metadata merge), related to the user's previous person, then either a contact
change or (one in ten) deleted - four events each, across 1,000 users.

--order says how a person's events lie in the store: `person` (one after the
other, as when people are entered in one sitting) or `spread` (every person
of a chunk of 10,000 gets their first event, then every one their second...:
a person's events lie 10,000 positions apart, so no batch holds two of them
and the rebuild cannot fold a person's events into one row write).
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from machine import describe  # benchmarks/machine.py (scripts run from this folder)
from sqlalchemy import create_engine

from pcem.aggregates.person import Person
from pcem.commands.people import PeopleApplication
from pcem.eventstore.config import eventsourcing_env
from pcem.migrate import migrate
from pcem.projections.catalog import all_projections
from pcem.projector.rebuild import REBUILD_BATCH, Rebuild
from pcem.settings import load_settings

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
USERS = 1000
EVENTS_PER_PERSON = 4
CHUNK = 10_000  # people built and copied at a time: memory stays flat


def main() -> None:
    args = _arguments()
    print(describe(), flush=True)
    with _database(args.admin_url, keep=args.keep) as url:
        settings = load_settings(
            {"PCEM_DATABASE_URL": url, "PCEM_MASTER_KEY": base64.b64encode(os.urandom(32)).decode()}
        )
        migrate(settings.require_database())
        app = PeopleApplication(
            env=eventsourcing_env(settings.require_database(), settings.require_master_key())
        )
        engine = create_engine(settings.require_database().sqlalchemy_url)
        people = args.events // EVENTS_PER_PERSON
        started = time.perf_counter()
        events = _load(app, url, people, spread=args.order == "spread")
        print(f"loaded {events:,} events in {time.perf_counter() - started:.1f} s", flush=True)
        rebuilt = _rebuild_all(engine, app, args.batch_size)
        copied = _plain_copy(url)
        _report(events, rebuilt, copied)
        app.close()
        engine.dispose()


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=REBUILD_BATCH)
    parser.add_argument("--order", choices=("person", "spread"), default="person")
    parser.add_argument("--admin-url", default=ADMIN_URL, help="to create the database")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser.parse_args()


@contextmanager
def _database(admin_url: str, *, keep: bool) -> Iterator[str]:
    name = f"pcem_bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        if keep:
            print(f"kept database {name}")
        else:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def _load(app: PeopleApplication, url: str, people: int, *, spread: bool) -> int:
    copy = "COPY pcem_events (originator_id, originator_version, topic, state) FROM STDIN"
    loaded = 0
    previous: dict[str, Person] = {}
    with psycopg.connect(url) as conn:
        for start in range(0, people, CHUNK):
            rows = list(_stored_events(app, start, min(CHUNK, people - start), previous))
            if spread:  # each person's n-th event, for every n in turn
                rows = [row for n in range(1, 6) for row in rows if row[1] == n]
            with conn.cursor().copy(copy) as out:
                for row in rows:
                    out.write_row(row)
            conn.commit()
            loaded += len(rows)
    return loaded


def _stored_events(
    app: PeopleApplication, start: int, count: int, previous: dict[str, Person]
) -> Iterator[tuple[Any, ...]]:
    for n in range(start, start + count):
        user = f"user-{n % USERS}"
        person = Person.create(
            user_id=user,
            actor=user,
            first_name=f"First{n}",
            last_name=f"Last{n}",
            metadata={"favorite_book": f"Book {n % 997}", "kids": [{"name": f"K{n}"}]},
        )
        person.update(user, {"first_name": f"Renamed{n}"}, {"school": f"School {n % 89}"})
        if user in previous:
            person.add_relationship(user, uuid.uuid4(), previous[user], "friend")
        else:
            person.update(user, {"last_name": f"Only{n}"})
        if n % 10 == 0:
            person.delete(user)
        else:
            person.update(user, {"primary_contact": f"p{n}@example.org"})
            previous[user] = person
        for event in person.collect_events():
            stored = app.mapper.to_stored_event(event)
            yield stored.originator_id, stored.originator_version, stored.topic, stored.state


def _rebuild_all(engine: Any, app: PeopleApplication, batch_size: int) -> dict[str, float]:
    timings: dict[str, float] = {}
    for projection in all_projections():
        rebuild = Rebuild(projection, engine, app.mapper, batch_size=batch_size)
        started = time.perf_counter()
        assert rebuild.run(threading.Event(), _Progress(projection.name))
        timings[projection.name] = time.perf_counter() - started
        print(f"rebuilt {projection.name} in {timings[projection.name]:.1f} s", flush=True)
    return timings


class _Progress:
    def __init__(self, name: str) -> None:
        self.name, self.shown = name, time.perf_counter()

    def __call__(self, position: int, head: int) -> None:
        if time.perf_counter() - self.shown > 10:
            self.shown = time.perf_counter()
            print(f"  {self.name}: {position:,}/{head:,}", flush=True)


def _plain_copy(url: str) -> tuple[int, float]:
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE bench_copy (LIKE pcem_events INCLUDING ALL)")
        conn.commit()
        started = time.perf_counter()
        copied = conn.execute("INSERT INTO bench_copy SELECT * FROM pcem_events").rowcount
        conn.commit()
        return copied, time.perf_counter() - started


def _report(events: int, rebuilt: dict[str, float], copied: tuple[int, float]) -> None:
    total = sum(rebuilt.values())
    rows, seconds = copied
    rebuild_rate, copy_rate = events / total, rows / seconds
    print()
    print(f"events:                    {events:,}")
    for name, took in rebuilt.items():
        print(f"rebuild {name + ':':<18} {took:.1f} s")
    print(f"rebuild all projections:   {total:.1f} s = {rebuild_rate:,.0f} events/s")
    print(f"plain INSERT ... SELECT:   {rows:,} rows in {seconds:.1f} s = {copy_rate:,.0f} rows/s")
    print(f"ratio rebuild/copy:        {rebuild_rate / copy_rate:.2f}")


if __name__ == "__main__":
    main()
