"""The export of one account of 50,000 people, over HTTP: the API's memory and the time.

Creates a fresh database on the local PostgreSQL (dropped afterwards), loads one
user's 50,000 people in bulk (built through the real aggregates and the
application's mapper, then COPY'd, as benchmarks/rebuild.py does: each created with
the import's metadata vocabulary and some of their own, renamed once, related to the
previous person, with a birthday - one in four without a year - and one in twenty
deleted, their birthday hidden with them), rebuilds the read models from them, then
starts `pcem api` and streams `GET /api/v1/me/export` in each format with a client
that reads and discards 64 KB at a time. For each, the API process's resident memory
(psutil, sampled every 20 ms) before and at its peak during the export: the growth
is what the export cost, against the goal of less than 50 MB.

Also (``--part import``, benchmarks/import_rate.py): importing 10,000 vCards, contacts
per second against a bare eventsourcing save loop in the same run.

Usage: .venv/bin/python benchmarks/portability.py [--part export|import|both]
       [--people 50000] [--cards 10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import os
import secrets
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import import_rate  # benchmarks/import_rate.py
import psutil
import psycopg
from fresh import fresh_database  # benchmarks/fresh.py
from machine import describe  # benchmarks/machine.py (scripts run from this folder)
from sqlalchemy import create_engine

from pcem.aggregates.event import CalendarEvent
from pcem.aggregates.person import Person
from pcem.cli.tokens import mint_token
from pcem.commands.people import PeopleApplication
from pcem.eventstore.config import eventsourcing_env
from pcem.migrate import migrate
from pcem.projections.catalog import all_projections
from pcem.projector.rebuild import Rebuild
from pcem.settings import load_settings

ADMIN_URL = os.environ.get("PCEM_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("PCEM_BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
PORT = 8771
USER = "bench-exporter"
CHUNK = 5_000  # people built and copied at a time: the loader's memory stays flat
GOAL_MB = 50
MIB = 1024 * 1024
FORMATS = (("application/json", "JSON"), ("text/vcard", "vCard"), ("text/calendar", "iCalendar"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("export", "import", "both"), default="both")
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--cards", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(describe(), flush=True)
    if args.part in ("import", "both"):
        import_rate.run(ADMIN_URL, REDIS_URL, args.cards, args.rounds)
    if args.part in ("export", "both"):
        with fresh_database(ADMIN_URL) as url:
            run(url, args.people)


def run(url: str, people: int) -> None:
    env = {**os.environ, "PCEM_DATABASE_URL": url, "PCEM_REDIS_URL": REDIS_URL,
           "PCEM_JWT_SECRET": secrets.token_urlsafe(40), "PCEM_LOG_LEVEL": "WARNING",
           "PCEM_MASTER_KEY": base64.b64encode(os.urandom(32)).decode()}  # fmt: skip
    settings = load_settings(env)
    migrate(settings.require_database())
    app = PeopleApplication(
        env=eventsourcing_env(settings.require_database(), settings.require_master_key())
    )
    started = time.perf_counter()
    events = load(app, url, people)
    print(f"loaded {people:,} people ({events:,} events) in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    engine = create_engine(settings.require_database().sqlalchemy_url)
    for projection in all_projections():
        assert Rebuild(projection, engine, app.mapper).run(threading.Event())
    engine.dispose()
    print(f"read models rebuilt in {time.perf_counter() - started:.1f} s", flush=True)
    token = mint_token(settings.jwt, USER, roles=(), ttl=timedelta(hours=2))
    api = subprocess.Popen(
        [sys.executable, "-m", "pcem.cli.main", "api", "--port", str(PORT)], env=env
    )
    try:
        wait_until_ready()
        measure(psutil.Process(api.pid), token)
    finally:
        api.terminate()
        api.wait(timeout=20)


def load(app: PeopleApplication, url: str, people: int) -> int:
    copy = "COPY pcem_events (originator_id, originator_version, topic, state) FROM STDIN"
    loaded, previous = 0, None
    with psycopg.connect(url) as conn:
        for start in range(0, people, CHUNK):
            rows = []
            for n in range(start, min(start + CHUNK, people)):
                person, aggregates = one_person(n, previous)
                previous = None if person.is_deleted else person
                rows.extend(stored(app, aggregates))
            with conn.cursor().copy(copy) as out:
                for row in rows:
                    out.write_row(row)
            conn.commit()
            loaded += len(rows)
    return loaded


def one_person(n: int, previous: Person | None) -> tuple[Person, list[Any]]:
    person = Person.create(user_id=USER, actor=USER, first_name=f"First{n}",
                           last_name=f"Last{n % 9973}", metadata=metadata(n))  # fmt: skip
    person.update(USER, {"primary_contact": f"person{n}@example.org"}, {"nickname": f"N{n}"})
    if previous is not None:
        person.add_relationship(USER, uuid.uuid4(), previous, "friend")
    year = 1604 if n % 4 == 0 else 1950 + n % 60  # one in four known without a year
    birthday = CalendarEvent.create(
        actor=USER, person=person, title="Birthday", recurrence="yearly",
        event_date=date(year, 1 + n % 12, 1 + n % 28), is_special_event=True,
    )  # fmt: skip
    person.attach_event(USER, birthday.id)
    if n % 20 == 0:
        person.delete(USER)
        birthday.hide_with_person(USER)
    return person, [person, birthday]


def metadata(n: int) -> dict[str, Any]:
    return {
        "emails": [{"value": f"person{n}@example.org", "label": "work"}],
        "phones": [{"value": f"+49 151 {n:08d}", "label": "cell"}],
        "addresses": [
            {
                "label": "home",
                "street": f"Hauptstraße {n % 200}",
                "locality": "Berlin",
                "postal_code": f"{10000 + n % 9000}",
                "country": "Germany",
            }
        ],
        "organization": f"Company {n % 500}",
        "job_title": "Engineer",
        "note": f"Met at the conference of {2000 + n % 25}; likes chess, jazz and long walks.",
        "favorite_book": f"Book {n % 997}",
        "kids": [{"name": f"Kid {n}", "school": f"School {n % 89}"}],
    }


def stored(app: PeopleApplication, aggregates: list[Any]) -> Iterator[tuple[Any, ...]]:
    for aggregate in aggregates:
        for event in aggregate.collect_events():
            s = app.mapper.to_stored_event(event)
            yield s.originator_id, s.originator_version, s.topic, s.state


def wait_until_ready() -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            client = http.client.HTTPConnection("127.0.0.1", PORT, timeout=5)
            client.request("GET", "/health/ready")
            if client.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("pcem api did not become ready")


def measure(api: psutil.Process, token: str) -> None:
    """Each format once; JSON first twice: cold (the API's first export: its modules,
    pool connections and allocator arenas come then) and warm."""
    print(f"API resident when ready: {api.memory_info().rss / MIB:.1f} MiB")
    for media_type, name in (FORMATS[0], *FORMATS):
        before = api.memory_info().rss
        peak = Peak(api)
        started = time.perf_counter()
        size = export(media_type, token)
        seconds = time.perf_counter() - started
        grown = (peak.stop() - before) / MIB
        verdict = "within" if grown < GOAL_MB else "OVER"
        print(f"{name:<10} {size / MIB:7.1f} MiB in {seconds:5.1f} s ({size / MIB / seconds:5.1f}"
              f" MiB/s); API RSS {before / MIB:.1f} MiB, peak +{grown:.1f} MiB"
              f" ({verdict} the {GOAL_MB} MB goal)", flush=True)  # fmt: skip


def export(media_type: str, token: str) -> int:
    client = http.client.HTTPConnection("127.0.0.1", PORT, timeout=600)
    client.request("GET", "/api/v1/me/export",
                   headers={"Authorization": f"Bearer {token}", "Accept": media_type})  # fmt: skip
    response = client.getresponse()
    assert response.status == 200, response.read()[:500]
    size = 0
    while block := response.read(64 * 1024):
        size += len(block)
    client.close()
    return size


class Peak:
    """The highest resident memory of a process, sampled every 20 ms until stopped."""

    def __init__(self, process: psutil.Process) -> None:
        self.process, self.highest = process, process.memory_info().rss
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        while not self.done.wait(0.02):
            self.highest = max(self.highest, self.process.memory_info().rss)

    def stop(self) -> int:
        self.done.set()
        self.thread.join()
        return max(self.highest, self.process.memory_info().rss)


if __name__ == "__main__":
    main()
