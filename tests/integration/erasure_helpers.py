"""Helpers of the erasure tests: a user with something of everything, and their rows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
from sqlalchemy import Engine, text

from tests.integration.api_helpers import PEOPLE, create_person
from tests.integration.feed_helpers import EVENTS, SETTINGS

# Every table that holds a user's rows (user_id), for before/after comparisons.
USER_TABLES = (
    "people",
    "relationships",
    "events",
    "occurrences",
    "user_settings",
    "notification_schedule",
    "notifications",
    "imports",
    "calendar_feeds",
    "idempotency_keys",
    "subject_keys",
)


def rows_of(engine: Engine, user_id: str) -> dict[str, list[str]]:
    """Every row of the user in every user table, as text, in a stable order."""
    found = {}
    with engine.connect() as conn:
        for table in USER_TABLES:
            statement = text(f"SELECT t::text FROM {table} t WHERE user_id = :u ORDER BY t::text")
            found[table] = list(conn.execute(statement, {"u": user_id}).scalars())
        attempts = text(
            "SELECT a::text FROM notification_attempts a JOIN notifications n"
            " ON n.id = a.notification_id WHERE n.user_id = :u ORDER BY a::text"
        )
        found["notification_attempts"] = list(conn.execute(attempts, {"u": user_id}).scalars())
    return found


def soon() -> date:
    """A day the schedule's window holds reminders for (within a week)."""
    return (datetime.now(UTC) + timedelta(days=3)).date()


def person_with_reminders(
    client: httpx.Client, auth: dict[str, str], **body: Any
) -> dict[str, Any]:
    """A person with a special yearly date three days ahead (reminders scheduled)."""
    person = create_person(client, auth, **body)
    payload = {
        "person_id": person["id"],
        "title": f"{person['first_name']}'s birthday",
        "event_date": soon().isoformat(),
        "is_special_event": True,
        "recurrence": "yearly",
        "notes": "likes lilies",
    }
    made = client.post(EVENTS, json=payload, headers=auth)
    assert made.status_code == 201, made.text
    return {**person, "event_id": made.json()["id"]}


def email_settings(client: httpx.Client, auth: dict[str, str], address: str) -> None:
    body = {
        "timezone": "Europe/Berlin",
        "notifications": {
            "enabled": True,
            "lead_time_days": [7, 1, 0],
            "delivery_time": "09:00",
            "channels": [{"type": "email", "address": address}, {"type": "in_app"}],
        },
    }
    response = client.put(SETTINGS, json=body, headers=auth)
    assert response.status_code == 200, response.text


def live_keys(engine: Engine, user_id: str) -> set[UUID]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT subject_id FROM subject_keys WHERE user_id = :u AND wrapped_key IS NOT NULL"
            ),
            {"u": user_id},
        )
        return set(rows.scalars())


def add_import_naming(engine: Engine, user_id: str, record: str, message: str) -> UUID:
    """A finished import whose problems name someone (as a run records them)."""
    import_id = uuid4()
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO imports (id, user_id, status, format, dry_run, problems,"
                " created_at, updated_at) VALUES (:id, :u, 'done', 'vcard', false,"
                " CAST(:problems AS jsonb), now(), now())"
            ),
            {
                "id": import_id,
                "u": user_id,
                "problems": f'[{{"record": "{record}", "message": "{message}"}}]',
            },
        )
    return import_id


def person_path(person_id: str) -> str:
    return f"{PEOPLE}/{person_id}"
