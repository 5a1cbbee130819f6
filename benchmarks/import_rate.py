"""Importing 10,000 vCards against a bare eventsourcing save loop, in one run.

Part of benchmarks/portability.py (``--part import``). Each round, on a fresh database:
the bare save loop of benchmarks/bare_peer.py (one thread: an import runs in one
worker process, one contact after another) for as long as the import took last, and
the worker's own import code (``ImportRun.run``, what the Celery task calls) over a
file of 10,000 cards as Google writes them (names, two emails, a phone, an address,
a note, a birthday: one in four without a year). Then the same file again (every
contact recognised, nothing written) and a dry run. Rates are contacts, or saves,
per second; the ratio is the import's rate over the bare loop's, median of rounds.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from fresh import fresh_database  # benchmarks/fresh.py (scripts run from this folder)

from pcem.migrate import migrate
from pcem.settings import load_settings
from pcem.wiring import build_container

BARE_PEER = Path(__file__).with_name("bare_peer.py")
GOAL = 0.5


def vcards(count: int) -> bytes:
    return "".join(card(n) for n in range(count)).encode()


def card(n: int) -> str:
    year = "--" if n % 4 == 0 else "1990-"
    return (
        "BEGIN:VCARD\r\nVERSION:3.0\r\n"
        f"FN:Friend{n} Person{n}\r\nN:Person{n};Friend{n};;;\r\n"
        f"EMAIL;TYPE=INTERNET;TYPE=HOME:friend{n}@example.org\r\n"
        f"EMAIL;TYPE=INTERNET;TYPE=WORK:friend{n}@work.example\r\n"
        f"TEL;TYPE=CELL:+1 555 {n:07d}\r\n"
        f"ADR;TYPE=HOME:;;{n} Main Street;Springfield;IL;62701;USA\r\n"
        f"NOTE:Met at the conference in {2000 + n % 25}\\, likes tea\r\n"
        f"BDAY:{year}{n % 12 + 1:02d}-{n % 28 + 1:02d}\r\n"
        f"UID:google-{n}\r\nEND:VCARD\r\n"
    )


def bare_saves_per_second(admin_url: str, seconds: float) -> float:
    with fresh_database(admin_url) as url:
        command = [sys.executable, str(BARE_PEER), "saves", "--threads", "1"]
        command += ["--duration", f"{seconds:.1f}"]
        output = subprocess.run(
            command, env={**os.environ, "PEER_DATABASE_URL": url}, check=True,
            capture_output=True, text=True,
        ).stdout  # fmt: skip
    result = json.loads(output.strip().splitlines()[-1])
    return float(result["saves"]) / float(result["seconds"])


def import_rates(admin_url: str, redis_url: str, cards: int) -> dict[str, float]:
    """Contacts per second: a first import, the same file again, a dry run."""
    content = vcards(cards)
    with fresh_database(admin_url) as url:
        env = {"PCEM_DATABASE_URL": url, "PCEM_REDIS_URL": redis_url,
               "PCEM_JWT_SECRET": secrets.token_urlsafe(40), "PCEM_LOG_LEVEL": "WARNING",
           "PCEM_MASTER_KEY": base64.b64encode(os.urandom(32)).decode()}  # fmt: skip
        settings = load_settings({**os.environ, **env})
        migrate(settings.require_database())
        container = build_container(settings, role="worker", pool_size=4)
        try:
            user = f"bench-{uuid.uuid4()}"
            rates = {}
            for label, dry_run in (("first", False), ("again", False), ("dry run", True)):
                import_id = uuid.uuid4()
                container.imports.submit(
                    import_id, user, format="vcard", dry_run=dry_run, content=content,
                    total=cards, now=datetime.now(UTC),
                )  # fmt: skip
                started = time.perf_counter()
                assert container.import_run.run(import_id) == "done"
                rates[label] = cards / (time.perf_counter() - started)
            return rates
        finally:
            container.close()


def run(admin_url: str, redis_url: str, cards: int, rounds: int) -> None:
    ratios, seconds = [], 10.0
    for number in range(1, rounds + 1):
        bare = bare_saves_per_second(admin_url, seconds)
        rates = import_rates(admin_url, redis_url, cards)
        seconds = cards / rates["first"]  # the next bare loop runs as long as an import
        ratios.append(rates["first"] / bare)
        print(
            f"round {number}: import {rates['first']:7.0f} contacts/s   "
            f"bare save loop {bare:6.0f} saves/s   ratio {ratios[-1]:.2f}   "
            f"again {rates['again']:6.0f}/s   dry run {rates['dry run']:6.0f}/s",
            flush=True,
        )
    median = statistics.median(ratios)
    verdict = "meets" if median >= GOAL else "MISSES"
    print(
        f"import of {cards:,} cards: median ratio {median:.2f} x the bare save loop ({verdict} {GOAL})"
    )
