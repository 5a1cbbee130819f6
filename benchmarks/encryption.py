"""What sealing events costs: appends and a rebuild, sealed against clear, in one run.

    .venv/bin/python benchmarks/encryption.py appends [--rounds 3] [--duration 10]
    .venv/bin/python benchmarks/encryption.py rebuild [--rounds 3] [--events 100000]
    .venv/bin/python benchmarks/encryption.py encrypt [--events 200000] [--batch 1000]

appends  two API processes on one fresh database, identical but for the mapper (the
         sealing one, and eventsourcing's plain Mapper, chosen by MAPPER_TOPIC: the
         only switch, used only here); wrk POSTs /api/v1/people from --connections
         (8) connections to each in turn, rounds alternating which goes first.
rebuild  two fresh databases holding the same people's events (four a person, as
         benchmarks/rebuild.py makes them), one sealed, one clear; the
         people_and_dates projection is rebuilt on each in turn, as `pcem projections
         rebuild` does.
encrypt  a fresh database of --events clear events (written as PCEM wrote them
         before encryption), then `pcem events encrypt` as a process, timed.

Both comparisons print the medians and sealed / clear (goal >= 0.8). Needs the local
PostgreSQL (PCEM_BENCH_ADMIN_URL) and Redis (PCEM_BENCH_REDIS_URL); wrk is installed
with apt-get if missing.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import httpx
import psycopg
from machine import describe  # benchmarks/machine.py (scripts run from this folder)
from sqlalchemy import create_engine

from pcem.aggregates.person import Person
from pcem.cli.tokens import mint_token
from pcem.commands.people import PeopleApplication
from pcem.eventstore.config import eventsourcing_env
from pcem.eventstore.sealing import SealedStoredEvent, SealingMapper
from pcem.migrate import migrate
from pcem.projections.people_and_dates import PeopleAndDatesProjection
from pcem.projector.rebuild import Rebuild
from pcem.settings import Settings, load_settings

ADMIN_URL = os.environ.get("PCEM_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("PCEM_BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
CLEAR = {"MAPPER_TOPIC": "eventsourcing.persistence:Mapper"}
PORTS = {"sealed": 18731, "clear": 18732}
GOAL = 0.8
POST_BODY = '{"first_name": "Bench", "last_name": "N", "metadata": {"k": 1}}'
COPY = "COPY pcem_events (originator_id, originator_version, topic, state) FROM STDIN"
COPY_KEYS = "COPY subject_keys (subject_id, user_id, person_id, wrapped_key) FROM STDIN"
USERS = 100


def main() -> None:
    args = _arguments()
    if args.what == "serve":
        serve(args.port, clear=args.clear)
        return
    print(describe(), flush=True)
    {"appends": appends, "rebuild": rebuild, "encrypt": encrypt}[args.what](args)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("appends", "rebuild", "encrypt", "serve"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk a measure")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--events", type=int, default=None, help="rebuild 100000, encrypt 200000")
    parser.add_argument("--batch", type=int, default=1000, help="encrypt: events a batch")
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--clear", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


# Appends through the API


def appends(args: argparse.Namespace) -> None:
    _ensure_wrk()
    with fresh_database() as url, tempfile.TemporaryDirectory() as workdir:
        env = _environment(url)
        migrate(load_settings(env).require_database())
        servers = [_start_api(kind, env, Path(workdir)) for kind in PORTS]
        try:
            token = mint_token(load_settings(env).jwt, "bench-user", roles=(), ttl=_hour())
            script = Path(workdir) / "post.lua"
            script.write_text(_post_lua(token))
            rates: dict[str, list[float]] = {kind: [] for kind in PORTS}
            for round_number in range(args.rounds):
                order = list(PORTS) if round_number % 2 == 0 else list(reversed(PORTS))
                for kind in order:
                    rate, p99 = _wrk(PORTS[kind], script, args.duration, args.connections)
                    rates[kind].append(rate)
                    print(f"round {round_number + 1} {kind:>6}: {rate:8.1f} req/s, p99 {p99}")
            _report("appends (POST /api/v1/people)", rates, "req/s")
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=30)


def serve(port: int, *, clear: bool) -> None:
    """One API process as `pcem api` runs it; ``clear``: eventsourcing's plain mapper."""
    import gc

    import uvicorn

    from pcem.api.app import create_app
    from pcem.wiring import build_container

    settings = load_settings(os.environ)
    container = build_container(settings)
    if clear:
        container.event_store = {**container.event_store, **CLEAR}
    app = create_app(container)
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _start_api(kind: str, env: dict[str, str], workdir: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, __file__, "serve", "--port", str(PORTS[kind])]
    log = (workdir / f"{kind}.log").open("wb")
    server = subprocess.Popen(
        [*command, *(["--clear"] if kind == "clear" else [])], env=env, stdout=log, stderr=log
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{PORTS[kind]}/health/ready").status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit(f"the {kind} API did not start: see {workdir}/{kind}.log")


def _wrk(port: int, script: Path, duration: int, connections: int) -> tuple[float, str]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script)]
    result = subprocess.run(
        [*command, f"http://127.0.0.1:{port}/api/v1/people"],
        capture_output=True,
        text=True,
        timeout=duration + 60,
        check=True,
    )
    if "Non-2xx" in result.stdout or "Socket errors" in result.stdout:
        raise SystemExit(f"wrk saw errors:\n{result.stdout}")
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", result.stdout, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", result.stdout, re.MULTILINE)
    assert rate and p99, result.stdout
    return float(rate.group(1)), p99.group(1)


def _post_lua(token: str) -> str:
    return (
        'wrk.method = "POST"\n'
        f"wrk.body = '{POST_BODY}'\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
    )


def _ensure_wrk() -> None:
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True)


# A rebuild from sealed and from clear events


def rebuild(args: argparse.Namespace) -> None:
    events = args.events or 100_000
    with fresh_database() as sealed_url, fresh_database() as clear_url:
        stores = {"sealed": _store(sealed_url, clear=False), "clear": _store(clear_url, clear=True)}
        for kind, (settings, app) in stores.items():
            started = time.perf_counter()
            loaded = _load(app, settings, events // 4)
            print(f"loaded {loaded:,} {kind} events in {time.perf_counter() - started:.1f} s")
        seconds: dict[str, list[float]] = {kind: [] for kind in stores}
        for round_number in range(args.rounds):
            order = list(stores) if round_number % 2 == 0 else list(reversed(stores))
            for kind in order:
                settings, app = stores[kind]
                taken = _rebuilt(settings, app)
                seconds[kind].append(taken)
                print(f"round {round_number + 1} {kind:>6}: {events / taken:8.0f} events/s")
        rates = {kind: [events / s for s in taken] for kind, taken in seconds.items()}
        _report("rebuild of people_and_dates", rates, "events/s")
        for _, app in stores.values():
            app.close()


def _store(url: str, *, clear: bool) -> tuple[Settings, PeopleApplication]:
    settings = load_settings(_environment(url))
    migrate(settings.require_database())
    env = eventsourcing_env(settings.require_database(), settings.require_master_key())
    return settings, PeopleApplication(env={**env, **(CLEAR if clear else {})})


def _load(app: PeopleApplication, settings: Settings, people: int) -> int:
    """``people`` people's events (and keys), COPY'd: four events each."""
    loaded = 0
    with psycopg.connect(settings.require_database().url) as conn, _putting(app):
        for start in range(0, people, 10_000):
            rows, keys = [], []
            for n in range(start, min(start + 10_000, people)):
                for stored in map(app.mapper.to_stored_event, _person(n).collect_events()):
                    rows.append(
                        (
                            stored.originator_id,
                            stored.originator_version,
                            stored.topic,
                            stored.state,
                        )
                    )
                    if isinstance(stored, SealedStoredEvent) and stored.new_key:
                        key = stored.new_key
                        keys.append((key.subject_id, key.user_id, key.person_id, key.wrapped_key))
            with conn.cursor().copy(COPY) as out:
                for row in rows:
                    out.write_row(row)
            with conn.cursor().copy(COPY_KEYS) as out:
                for key_row in keys:
                    out.write_row(key_row)
            conn.commit()
            loaded += len(rows)
    return loaded


def _putting(app: PeopleApplication) -> AbstractContextManager[None]:
    """As the event store puts a save's events: a person's later events are sealed with
    the key made for their first (outside it, they would find no committed key)."""
    return app.mapper.putting() if isinstance(app.mapper, SealingMapper) else nullcontext()


def _person(n: int) -> Person:
    user = f"user-{n % USERS}"
    person = Person.create(
        user_id=user,
        actor=user,
        first_name=f"First{n}",
        last_name=f"Last{n}",
        metadata={"favorite_book": f"Book {n % 997}", "kids": [{"name": f"K{n}"}]},
    )
    person.update(user, {"first_name": f"Renamed{n}"}, {"school": f"School {n % 89}"})
    person.update(user, {"last_name": f"Again{n}"})
    person.update(user, {"primary_contact": f"p{n}@example.org"})
    return person


def _rebuilt(settings: Settings, app: PeopleApplication) -> float:
    engine = create_engine(settings.require_database().sqlalchemy_url)
    started = time.perf_counter()
    assert Rebuild(PeopleAndDatesProjection(), engine, app.mapper).run(threading.Event())
    taken = time.perf_counter() - started
    engine.dispose()
    return taken


# Sealing a store written in clear


def encrypt(args: argparse.Namespace) -> None:
    events = args.events or 200_000
    with fresh_database() as url:
        settings, app = _store(url, clear=True)
        started = time.perf_counter()
        loaded = _load(app, settings, events // 4)
        app.close()
        print(f"loaded {loaded:,} clear events in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pcem.cli.main",
                "events",
                "encrypt",
                "--batch",
                str(args.batch),
            ],
            env=_environment(url),
            capture_output=True,
            text=True,
            check=True,
        )
        taken = time.perf_counter() - started
        print(result.stdout.strip())
        print(
            f"sealed {loaded:,} events in {taken:.1f} s ({loaded / taken:,.0f} events/s);"
            f" 1,000,000 at that rate: {1_000_000 / (loaded / taken) / 60:.1f} min (extrapolated)"
        )


# Shared


def _report(what: str, rates: dict[str, list[float]], unit: str) -> None:
    sealed, clear = statistics.median(rates["sealed"]), statistics.median(rates["clear"])
    ratio = sealed / clear
    verdict = "meets" if ratio >= GOAL else "BELOW"
    print(f"{what}: sealed {sealed:,.1f} {unit}, clear {clear:,.1f} {unit} (medians)")
    print(f"  sealed / clear = {ratio:.2f} ({verdict} the goal of {GOAL})")


@contextmanager
def fresh_database() -> Iterator[str]:
    name = f"pcem_bench_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


_KEY = base64.b64encode(os.urandom(32)).decode()


def _environment(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "PCEM_DATABASE_URL": url,
        "PCEM_REDIS_URL": REDIS_URL,
        "PCEM_JWT_SECRET": "bench-" + "x" * 40,
        "PCEM_MASTER_KEY": _KEY,
        "PCEM_LOG_LEVEL": "WARNING",
        "PCEM_RATE_LIMIT_PER_MINUTE": "10000000",
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }


def _hour() -> Any:
    from datetime import timedelta

    return timedelta(hours=1)


if __name__ == "__main__":
    main()
