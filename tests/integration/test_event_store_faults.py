"""The event store's pooled connections survive a write that fails mid-pipeline."""

from __future__ import annotations

import sys
import threading
import uuid
from collections.abc import Callable

import psycopg
import pytest
from eventsourcing.persistence import StoredEvent

from pcem.commands.people import PeopleApplication
from pcem.eventstore.config import eventsourcing_env
from pcem.eventstore.recorder import (
    IdempotencyKeyTakenError,
    IdempotencyRecord,
    PcemApplicationRecorder,
)
from pcem.settings import Settings
from tests.polling import wait_until


def waiting_for_a_lock(watcher: psycopg.Connection[tuple[int]]) -> bool:
    row = watcher.execute(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    ).fetchone()
    return bool(row and row[0])


def waiting_in_pipeline_sync(thread: threading.Thread) -> bool:
    frame = sys._current_frames().get(thread.ident or 0)
    while frame is not None:
        code = frame.f_code
        if code.co_name == "sync" and code.co_filename.endswith("psycopg/_pipeline.py"):
            return True
        frame = frame.f_back
    return False


def test_an_insert_that_lost_an_idempotency_race_leaves_its_connection_usable(
    isolated: Settings, request: pytest.FixtureRequest
) -> None:
    database = isolated.require_database()
    # One connection, so the one that fails is the one every later insert uses.
    one_connection = {
        **eventsourcing_env(database, isolated.require_master_key(), pool_size=1),
        "POSTGRES_MAX_OVERFLOW": "0",
    }
    app = PeopleApplication(env=one_connection)
    request.addfinalizer(app.close)
    recorder = app.recorder
    assert isinstance(recorder, PcemApplicationRecorder)

    def insert(key: str | None = None) -> None:
        aggregate = uuid.uuid4()
        idempotency = [IdempotencyRecord("u1", key, "h", aggregate, 1, aggregate)] if key else []
        recorder.insert_events(
            [StoredEvent(aggregate, 1, "pcem.test:Event", b"{}")], idempotency=idempotency
        )

    with psycopg.connect(database.url) as rival, psycopg.connect(database.url) as watcher:

        def while_rival_holds(statement: str, act: Callable[[], None]) -> Exception | None:
            """Run ``act`` while ``rival`` holds what ``statement`` takes, until it waits."""
            rival.execute(statement)
            failures: list[Exception] = []

            def run() -> None:
                try:
                    act()
                except Exception as error:
                    failures.append(error)

            worker = threading.Thread(target=run)
            worker.start()
            # The insert waits for the rival in the database and has sent its whole
            # pipeline: its thread waits in the pipeline's sync, where the failure
            # surfaces in production under contention.
            wait_until(
                lambda: waiting_for_a_lock(watcher) and waiting_in_pipeline_sync(worker),
                timeout=10,
                what="the insert to wait for the rival",
            )
            rival.commit()
            worker.join(timeout=10)
            return failures[0] if failures else None

        for _ in range(5):  # psycopg prepares a statement on its sixth use
            insert()
        raced = while_rival_holds(
            "INSERT INTO idempotency_keys"
            " (user_id, key, request_hash, aggregate_id, aggregate_version, result_id)"
            " VALUES ('u1', 'k2', 'h', gen_random_uuid(), 1, gen_random_uuid())",
            lambda: insert("k2"),
        )
        later = [
            while_rival_holds("LOCK TABLE pcem_events IN EXCLUSIVE MODE", insert) for _ in range(4)
        ]

    assert isinstance(raced, IdempotencyKeyTakenError)  # the race, named by the recorder
    assert later == [None, None, None, None]
