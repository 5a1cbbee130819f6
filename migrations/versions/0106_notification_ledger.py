"""The process manager's own state: the notification ledger, its attempt log, the outbox.

Not a projection: never rebuilt, never dropped. A notification is keyed by the
schedule row it came from (``notification_schedule.id``, a uuid5 of the
occurrence, lead time and channel), so rebuilding the schedule can never
create or send one twice. Every message for the broker is first a row of
``outbox``, written in the transaction of the state change that causes it.

Revision ID: 0106
Revises: 0105
Create Date: 2026-12-01
"""

from alembic import op

revision = "0106"
down_revision = "0105"
branch_labels = None
depends_on = None

LEDGER = """
CREATE TABLE notifications (
    id uuid PRIMARY KEY,
    user_id text NOT NULL,
    event_id uuid NOT NULL,
    person_id uuid NOT NULL,
    channel text NOT NULL,
    channel_key text NOT NULL,
    lead_time_days integer NOT NULL,
    occurrence_date date NOT NULL,
    occurs_at timestamptz NOT NULL,
    due_at timestamptz NOT NULL,
    status text NOT NULL
        CHECK (status IN ('scheduled', 'sending', 'sent', 'failed', 'cancelled')),
    attempts integer NOT NULL DEFAULT 0,
    retry_base integer NOT NULL DEFAULT 0,  -- attempts when an operator last retried it
    -- scheduled: when to hand it to a worker next (NULL: handed out at handed_out_at)
    next_attempt_at timestamptz,
    handed_out_at timestamptz,
    lease_until timestamptz,  -- sending: when a worker's claim on it lapses
    last_error text,
    sent_at timestamptz,
    read_at timestamptz,
    title text NOT NULL,
    body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_user_due_idx ON notifications (user_id, due_at DESC, id);
CREATE INDEX notifications_to_hand_out_idx
    ON notifications (next_attempt_at, handed_out_at) WHERE status = 'scheduled';
CREATE INDEX notifications_leased_idx ON notifications (lease_until) WHERE status = 'sending';
CREATE INDEX notifications_failed_idx ON notifications (due_at DESC, id) WHERE status = 'failed';
CREATE INDEX notifications_overdue_idx ON notifications (due_at)
    WHERE status IN ('scheduled', 'sending');

CREATE TABLE notification_attempts (
    notification_id uuid NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    attempt integer NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    outcome text NOT NULL CHECK (outcome IN ('sent', 'retry', 'failed', 'cancelled')),
    error text,
    PRIMARY KEY (notification_id, attempt)
);

-- How far the scheduler's sweep has got: each tick looks at reminders due since a
-- little before it (the projection's lag), not at every past one still listed.
CREATE TABLE scheduler_watermark (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    swept_to timestamptz NOT NULL
);
INSERT INTO scheduler_watermark (swept_to) VALUES ('2000-01-01T00:00Z');  -- before any

CREATE TABLE outbox (
    id bigserial PRIMARY KEY,
    task text NOT NULL,
    notification_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
"""


def upgrade() -> None:
    op.execute(LEDGER)


def downgrade() -> None:
    op.execute("DROP TABLE outbox, scheduler_watermark, notification_attempts, notifications")
