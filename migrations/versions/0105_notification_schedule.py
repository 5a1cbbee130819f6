"""The notification schedule: one row per reminder (occurrence x lead time x channel).

A read table of the ``people`` projection, rebuilt with it. It starts empty: on
a database that already holds special events, fill it from the events with
``pcem projections rebuild people`` once this migration has run.

Revision ID: 0105
Revises: 0104
Create Date: 2026-11-23
"""

from alembic import op

revision = "0105"
down_revision = "0104"
branch_labels = None
depends_on = None

# `id` is a uuid5 of the key (event, occurrence's local date, lead time, channel
# key): the notification ledger keys on it, across rebuilds. The scheduler's sweep
# reads the partial index on `due_at` of scheduled rows only.
SCHEDULE = """
CREATE TABLE notification_schedule (
    id uuid PRIMARY KEY,
    user_id text NOT NULL,
    event_id uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    person_id uuid NOT NULL,
    channel text NOT NULL,
    channel_key text NOT NULL,
    lead_time_days integer NOT NULL,
    occurrence_date date NOT NULL,
    occurs_at timestamptz NOT NULL,
    due_at timestamptz NOT NULL,
    status text NOT NULL CHECK (status IN ('scheduled', 'cancelled')),
    cancel_reason text,
    person_name text NOT NULL,
    title text NOT NULL,
    CHECK ((status = 'cancelled') = (cancel_reason IS NOT NULL))
);
CREATE UNIQUE INDEX notification_schedule_key_idx
    ON notification_schedule (event_id, occurrence_date, lead_time_days, channel_key);
CREATE INDEX notification_schedule_due_idx
    ON notification_schedule (due_at) WHERE status = 'scheduled';
CREATE INDEX notification_schedule_user_idx ON notification_schedule (user_id);
CREATE INDEX notification_schedule_person_idx ON notification_schedule (person_id);
CREATE INDEX notification_schedule_occurs_idx ON notification_schedule (occurs_at);
"""


def upgrade() -> None:
    op.execute(SCHEDULE)


def downgrade() -> None:
    op.execute("DROP TABLE notification_schedule")
