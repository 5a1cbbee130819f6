"""What every fault test and the soak benchmark check at the end, written once:
every acknowledged command is in the event store (once), and the read models
equal a fresh rebuild. Also the real PCEM processes they run against."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
from eventsourcing.persistence import StoredEvent
from sqlalchemy import create_engine

from pcem.commands.people import PeopleApplication
from pcem.eventstore.config import eventsourcing_env
from pcem.projector.tracking import ProjectionTracking
from pcem.settings import Settings
from tests.integration.projection_helpers import pcem_env, start_pcem
from tests.load import Outcome
from tests.polling import wait_until
from tests.private_servers import spare_port

# The fields of a change the load's tokens travel in (tests.load).
_TOKEN_FIELDS = ("first_name", "last_name")


@dataclass(frozen=True)
class Tally:
    """lost: acknowledged, not stored; duplicated: stored more than once; leaked:
    stored though its client was not told it succeeded (a 503 or no answer while
    the database went away: the write's fate was unknown to the server too)."""

    acknowledged: int
    stored: int
    lost: list[str]
    duplicated: list[str]
    leaked: list[str]
    misplaced: list[str]  # stored, but not as the aggregate and version answered

    def summary(self) -> str:
        return (
            f"{len(self.lost)} lost, {len(self.duplicated)} duplicated, "
            f"{len(self.leaked)} leaked ({self.acknowledged} acknowledged, {self.stored} stored)"
        )


def tally(settings: Settings, outcome: Outcome) -> Tally:
    """Compare the commands ``outcome`` saw acknowledged with the event store."""
    where: dict[str, list[tuple[str, int]]] = {}
    database = settings.require_database()
    app = PeopleApplication(env=eventsourcing_env(database, settings.require_master_key()))
    with psycopg.connect(database.url) as conn:
        rows = conn.execute(
            "SELECT originator_id, originator_version, topic, state FROM pcem_events"
        )
        for originator_id, version, topic, state in rows:
            stored = StoredEvent(originator_id, version, topic, bytes(state))
            fields = vars(app.mapper.to_domain_event(stored))  # sealed: not JSON as stored
            for token in _tokens(fields, outcome.attempted):
                where.setdefault(token, []).append((str(originator_id), version))
    app.close()
    counts = Counter({token: len(places) for token, places in where.items()})
    acknowledged = outcome.acknowledged
    return Tally(
        acknowledged=len(acknowledged),
        stored=len(where),
        lost=sorted(set(acknowledged) - set(where)),
        duplicated=sorted(token for token, n in counts.items() if n > 1),
        leaked=sorted(set(where) - set(acknowledged)),
        misplaced=sorted(
            t for t, place in acknowledged.items() if t in where and [place] != where[t]
        ),
    )


def _tokens(state: dict[str, Any], attempted: set[str]) -> list[str]:
    """The tokens an event carries: a Created's first name, an Updated's changes."""
    changes = state.get("changes") or {}
    values = [state.get("first_name"), *(changes.get(name) for name in _TOKEN_FIELDS)]
    return [v for v in values if isinstance(v, str) and v in attempted]


def verify_read_models(settings: Settings) -> str:
    """``pcem projections verify`` of every projection, once the projector has
    caught up; its report. Raises if any read model differs from a fresh build."""
    wait_until(lambda: _lag(settings) == 0, 60, "the projector to catch up")
    result = subprocess.run(
        [sys.executable, "-m", "pcem.cli.main", "projections", "verify", "people_and_dates"],
        env=pcem_env(settings),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _lag(settings: Settings) -> int:
    with psycopg.connect(settings.require_database().url) as conn:
        row = conn.execute(
            "SELECT (SELECT coalesce(max(notification_id), 0) FROM pcem_events)"
            " - coalesce((SELECT position FROM projection_tracking"
            "             WHERE name = 'people_and_dates'), 0)"
        ).fetchone()
    return int(row[0]) if row else -1


def assert_nothing_lost(settings: Settings, outcome: Outcome) -> Tally:
    """The check of every fault test: nothing acknowledged lost, misplaced or stored
    twice, and read models equal to a fresh rebuild."""
    counted = tally(settings, outcome)
    assert (counted.lost, counted.duplicated, counted.misplaced) == ([], [], []), counted
    assert counted.acknowledged > 0, "the load should have been acknowledged at times"
    verify_read_models(settings)
    return counted


# Real processes


@dataclass
class Pcem:
    """`pcem api` and `pcem projector` processes over ``settings``."""

    settings: Settings
    url: str
    api: subprocess.Popen[str]
    projector: subprocess.Popen[str]

    def start_projector(self) -> None:
        self.projector = _start(self.settings, "projector")


@contextmanager
def pcem_running(settings: Settings, *, projector: bool = True) -> Iterator[Pcem]:
    subprocess.run(
        [sys.executable, "-m", "pcem.cli.main", "migrate"],
        env=pcem_env(settings), check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    port = spare_port()
    with ExitStack() as stack:
        api = stack.enter_context(_process(settings, "api", "--port", str(port)))
        running = Pcem(settings, f"http://127.0.0.1:{port}", api, api)
        if projector:
            running.projector = stack.enter_context(_process(settings, "projector"))
        wait_until(lambda: _answers(running.url), 60, "pcem api to answer")
        if projector:  # else the first reads wait for a projector still starting: 503s
            wait_until(lambda: _projecting(settings), 60, "the projector to run")
        try:
            yield running
        finally:
            _end(running.projector)


@contextmanager
def _process(settings: Settings, *args: str) -> Iterator[subprocess.Popen[str]]:
    process = _start(settings, *args)
    try:
        yield process
    finally:
        _end(process)


def _start(settings: Settings, *args: str) -> subprocess.Popen[str]:
    return start_pcem(settings, *args, env_extra={"PCEM_LOG_LEVEL": "WARNING"})


def _end(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _projecting(settings: Settings) -> bool:
    engine = create_engine(settings.require_database().sqlalchemy_url)
    try:
        statuses = ProjectionTracking(engine).statuses()
    finally:
        engine.dispose()
    return any(s.name == "people_and_dates" and s.runner for s in statuses)


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health/live", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
