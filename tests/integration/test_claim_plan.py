"""A delivery's claim finds its notification by primary key whatever the planner's
statistics say (``pcem.notifications.claims``). Statistics taken when nothing was
waiting (between bursts, or over a long history of sent notifications) made the
hand-out index look empty, and the claim walked it: every claim read every
notification waiting, 5-9 ms each instead of half a millisecond, at the moment
of a burst, when claims are all the workers do."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
import pytest

from pcem.notifications.claims import Claims
from pcem.settings import Settings

WAITING = 1000
# The notification by key; its digest group (none here) by user and due time.
BY_KEY = {"notifications_pkey", "notifications_user_due_idx"}


@pytest.fixture
def conn(isolated: Settings) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(isolated.require_database().url, autocommit=True) as connection:
        yield connection


def test_a_claim_reads_its_own_row_when_the_statistics_say_nothing_waits(
    conn: psycopg.Connection[Any],
) -> None:
    # given: statistics of a table where everything was sent, then a burst falls due
    conn.execute(
        "INSERT INTO notifications (id, user_id, event_id, person_id, channel, channel_key,"
        " lead_time_days, occurrence_date, occurs_at, due_at, status, title, body)"
        " SELECT gen_random_uuid(), 'u' || (i %% 10), gen_random_uuid(), gen_random_uuid(),"
        " 'webhook', 'webhook', 0, current_date, now(), date_trunc('minute', now()), 'sent',"
        " 'Birthday', 'Ada' FROM generate_series(1, %s) AS i",
        [2 * WAITING],
    )
    conn.execute("ANALYZE notifications")
    conn.execute(
        "UPDATE notifications SET status = 'scheduled' WHERE id IN"
        " (SELECT id FROM notifications ORDER BY id LIMIT %s)",
        [WAITING],
    )
    first = "SELECT id FROM notifications WHERE status = 'scheduled' ORDER BY id LIMIT 1"
    wanted = conn.execute(first)
    notification_id: UUID = wanted.fetchone()[0]  # type: ignore[index]
    now = datetime.now(UTC)
    params = {"id": notification_id, "now": now, "lease_until": now + timedelta(minutes=1)}

    # when
    explained = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + Claims.CLAIM, params)
    plan = explained.fetchone()[0][0]["Plan"]  # type: ignore[index]

    # then: the one notification taken, found by key: none of the indexes partial on
    # its status (hand-out, overdue), which walk every waiting row
    used = {index for index in indexes_of(plan) if index.startswith("notifications_")}
    assert "notifications_pkey" in used and used <= BY_KEY, used
    taken = conn.execute("SELECT id FROM notifications WHERE status = 'sending'").fetchall()
    assert taken == [(notification_id,)]


def indexes_of(node: dict[str, Any]) -> set[str]:
    found = {node["Index Name"]} if "Index Name" in node else set()
    for child in node.get("Plans", []):
        found |= indexes_of(child)
    return found
