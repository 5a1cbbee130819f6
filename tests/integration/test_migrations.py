"""Migrations that move data: existing rows come through an upgrade intact."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import date
from functools import partial
from typing import Any

from alembic import command
from sqlalchemy import Engine, create_engine, text

from pcem.aggregates.reminders import reminder_id
from pcem.migrate import alembic_config
from pcem.settings import Settings

BEFORE_ALL_DAY_OCCURRENCES = (
    "INSERT INTO people (id, user_id, first_name, last_name, metadata, version, created_at,"
    " updated_at) VALUES ('00000000-0000-0000-0000-000000000001', 'u1', 'Ada', '', '{}', 1,"
    " now(), now())",
    "INSERT INTO events (id, user_id, person_id, title, event_date, all_day, is_special_event,"
    " recurrence, notes, version, created_at, updated_at)"
    " SELECT gen_random_uuid(), 'u1', '00000000-0000-0000-0000-000000000001', 'E', d,"
    " length(d) = 10, false, 'none', '', 1, now(), now()"
    " FROM unnest(ARRAY['2026-06-01', '2026-06-01T10:00:00Z']) AS d",
    "INSERT INTO occurrences (event_id, user_id, occurs_at, local_date, person_id, person_name,"
    " title, is_special_event)"
    " SELECT id, user_id, now(), current_date, person_id, 'Ada', title, false FROM events",
)


def test_existing_occurrences_take_all_day_from_their_event(isolated: Settings) -> None:
    config = alembic_config(isolated.require_database())
    command.downgrade(config, "0103")
    engine = create_engine(isolated.require_database().sqlalchemy_url)
    with engine.begin() as conn:
        for statement in BEFORE_ALL_DAY_OCCURRENCES:
            conn.execute(text(statement))

    command.upgrade(config, "head")

    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT e.all_day, o.all_day FROM occurrences o JOIN events e ON e.id = o.event_id"
            )
        ).all()
    engine.dispose()
    assert sorted(tuple(r) for r in rows) == [(False, False), (True, True)]


def test_the_people_projection_resumes_as_people_and_dates_rebuild_included(
    isolated: Settings,
) -> None:
    config = alembic_config(isolated.require_database())
    command.downgrade(config, "0108")
    engine = create_engine(isolated.require_database().sqlalchemy_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM projection_tracking"))
        conn.execute(
            text(
                "INSERT INTO projection_tracking (name, position, state)"
                " VALUES ('people', 42, 'running'), ('people@rebuild', 7, 'rebuilding')"
            )
        )
        conn.execute(text("CREATE SCHEMA rebuild_people"))

    command.upgrade(config, "head")

    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT name, position, state FROM projection_tracking ORDER BY name")
        ).all()
        schemas = conn.execute(
            text("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'rebuild_%'")
        ).scalars()
        found = set(schemas)
    engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("people_and_dates", 42, "running"),
        ("people_and_dates@rebuild", 7, "rebuilding"),
    ]
    assert found == {"rebuild_people_and_dates"}


HOOK = {"type": "webhook", "url": "https://hooks.example/ada", "secret": "s" * 20}
REMOVED = {"type": "email", "address": "old@example.org"}


def address_key(channel: dict[str, str]) -> str:
    """A channel's key before 0116: its type and a digest of its address."""
    address = channel["url" if channel["type"] == "webhook" else "address"]
    return f"{channel['type']}:{hashlib.sha256(address.encode()).hexdigest()[:16]}"


BEFORE_SLOT_KEYS = (
    "INSERT INTO people (id, user_id, first_name, last_name, metadata, version, created_at,"
    " updated_at) VALUES (:person, 'u1', 'Ada', '', '{}', 1, now(), now())",
    "INSERT INTO events (id, user_id, person_id, title, event_date, all_day, is_special_event,"
    " recurrence, notes, version, created_at, updated_at)"
    " VALUES (:event, 'u1', :person, 'Birthday', '1990-03-10', true, true, 'yearly', '', 1,"
    " now(), now())",
    "INSERT INTO user_settings (user_id, timezone, notifications, version, updated_at)"
    " VALUES ('u1', 'UTC', CAST(:settings AS jsonb), 1, now())",
    "INSERT INTO notification_schedule (id, user_id, event_id, person_id, channel, channel_key,"
    " lead_time_days, occurrence_date, occurs_at, due_at, status, person_name, title)"
    " SELECT id, 'u1', :event, :person, split_part(key, ':', 1), key, 0, '2027-03-10',"
    " '2027-03-10T00:00Z', '2027-03-10T09:00Z', 'scheduled', 'Ada', 'Birthday'"
    " FROM unnest(CAST(:ids AS uuid[]), CAST(:keys AS text[])) AS r(id, key)",
    "INSERT INTO notifications (id, user_id, event_id, person_id, channel, channel_key,"
    " lead_time_days, occurrence_date, occurs_at, due_at, status, attempts, title, body)"
    " SELECT id, 'u1', :event, :person, split_part(key, ':', 1), key, 0, '2027-03-10',"
    " '2027-03-10T00:00Z', '2027-03-10T09:00Z', 'failed', 1, 'T', 'B'"
    " FROM unnest(CAST(:ledger_ids AS uuid[]), CAST(:ledger_keys AS text[])) AS r(id, key)",
    "INSERT INTO notification_attempts (notification_id, attempt, outcome, error)"
    " SELECT id, 1, 'failed', 'HTTP 404' FROM notifications",
    "INSERT INTO outbox (task, subject_id) SELECT 'pcem.deliver', id FROM notifications",
)


def test_reminders_keyed_by_address_take_their_channels_slot_keys_and_ids(
    isolated: Settings,
) -> None:
    # given a webhook's reminder, failed, keyed by its address; one of a removed channel
    config = alembic_config(isolated.require_database())
    command.downgrade(config, "0115")
    event, person = uuid.uuid4(), uuid.uuid4()
    on_the_day = partial(reminder_id, event, date(2027, 3, 10), 0)
    hook, removed = on_the_day(address_key(HOOK)), on_the_day(address_key(REMOVED))
    engine = create_engine(isolated.require_database().sqlalchemy_url)
    with engine.begin() as conn:
        for statement in BEFORE_SLOT_KEYS:
            conn.execute(text(statement), {
                "event": event, "person": person, "ids": [hook, on_the_day("in_app")],
                "keys": [address_key(HOOK), "in_app"], "ledger_ids": [hook, removed],
                "ledger_keys": [address_key(HOOK), address_key(REMOVED)],
                "settings": json.dumps({"channels": [HOOK, {"type": "in_app"}]}),
            })  # fmt: skip

    # when
    command.upgrade(config, "head")

    # then the webhook's reminder has the id the code now gives it, its history with it
    schedule, ledger, attempts, outbox = keyed(engine)
    assert schedule == {on_the_day("webhook"): "webhook", on_the_day("in_app"): "in_app"}
    assert ledger == {on_the_day("webhook"): "webhook", removed: address_key(REMOVED)}
    assert set(attempts) == set(outbox) == {on_the_day("webhook"), removed}
    # and a downgrade gives the old keys back
    command.downgrade(config, "0115")
    assert keyed(engine)[1] == {hook: address_key(HOOK), removed: address_key(REMOVED)}
    command.upgrade(config, "head")
    engine.dispose()


def keyed(engine: Engine) -> list[dict[Any, Any]]:
    """The schedule's and the ledger's keys by id; the attempt log's and outbox's ids."""
    with engine.connect() as conn:
        return [
            {row[0]: row[1] for row in conn.execute(text(sql))}
            for sql in (
                "SELECT id, channel_key FROM notification_schedule",
                "SELECT id, channel_key FROM notifications",
                "SELECT notification_id, attempt FROM notification_attempts",
                "SELECT subject_id, task FROM outbox",
            )
        ]
