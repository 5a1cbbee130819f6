"""Migrations that move data: existing rows come through an upgrade intact."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, text

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
