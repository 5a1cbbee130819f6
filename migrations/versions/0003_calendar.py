"""Calendar read model: events, materialised occurrences, user settings, horizon.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

EVENTS = """
CREATE TABLE events (
    id uuid PRIMARY KEY,
    user_id text NOT NULL,
    person_id uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    title text NOT NULL,
    event_date text NOT NULL,
    all_day boolean NOT NULL,
    is_special_event boolean NOT NULL,
    recurrence text NOT NULL,
    notes text NOT NULL,
    version bigint NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    deleted_at timestamptz,
    hidden boolean NOT NULL DEFAULT false
);
CREATE INDEX events_user_order_idx ON events (user_id, created_at, id);
CREATE INDEX events_person_order_idx ON events (user_id, person_id, created_at, id);
"""

# One row per occurrence of a visible event inside the horizon, carrying what
# the upcoming query answers, so that query is one index range scan.
OCCURRENCES = """
CREATE TABLE occurrences (
    event_id uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    user_id text NOT NULL,
    occurs_at timestamptz NOT NULL,
    local_date date NOT NULL,
    person_id uuid NOT NULL,
    person_name text NOT NULL,
    title text NOT NULL,
    is_special_event boolean NOT NULL,
    PRIMARY KEY (event_id, occurs_at)
);
CREATE INDEX occurrences_user_time_idx ON occurrences (user_id, occurs_at);
CREATE INDEX occurrences_person_idx ON occurrences (person_id);
"""

USER_SETTINGS = """
CREATE TABLE user_settings (
    user_id text PRIMARY KEY,
    timezone text NOT NULL,
    notifications jsonb NOT NULL,
    version bigint NOT NULL,
    updated_at timestamptz NOT NULL
);
"""

# The window [starts_at, ends_at) in which occurrences are materialised; the
# projector moves it forward daily. Queries outside it are computed from events.
HORIZON = """
CREATE TABLE occurrence_horizon (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL
);
INSERT INTO occurrence_horizon (starts_at, ends_at)
VALUES (date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '31 days',
        date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + interval '400 days');
"""


def upgrade() -> None:
    op.execute(EVENTS)
    op.execute(OCCURRENCES)
    op.execute(USER_SETTINGS)
    op.execute(HORIZON)


def downgrade() -> None:
    op.execute("DROP TABLE occurrence_horizon; DROP TABLE user_settings;")
    op.execute("DROP TABLE occurrences; DROP TABLE events;")
