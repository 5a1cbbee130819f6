"""Event store, projection tracking and the people read table.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# The event store exactly as eventsourcing 9.5's PostgresApplicationRecorder
# would create it for an application named "pcem" (we own the DDL, so the
# library runs with CREATE_TABLE=no).
EVENT_STORE = """
CREATE TABLE pcem_events (
    originator_id uuid NOT NULL,
    originator_version bigint NOT NULL,
    topic text,
    state bytea,
    notification_id bigserial,
    PRIMARY KEY (originator_id, originator_version)
) WITH (
    autovacuum_enabled = true,
    autovacuum_vacuum_threshold = 100000000,
    autovacuum_vacuum_scale_factor = 0.5,
    autovacuum_analyze_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.01
);
CREATE UNIQUE INDEX pcem_events_notification_id_idx ON pcem_events (notification_id ASC);
CREATE TYPE stored_event_uuid AS (
    originator_id uuid,
    originator_version bigint,
    topic text,
    state bytea
);
"""

PROJECTION_TRACKING = """
CREATE TABLE projection_tracking (
    name text PRIMARY KEY,
    position bigint NOT NULL DEFAULT 0,
    state text NOT NULL DEFAULT 'running',
    error text,
    updated_at timestamptz NOT NULL DEFAULT now()
);
"""

PEOPLE = """
CREATE TABLE people (
    id uuid PRIMARY KEY,
    user_id text NOT NULL,
    first_name text NOT NULL,
    last_name text NOT NULL,
    primary_contact text,
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    version bigint NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    deleted_at timestamptz
);
-- The list order of API.md, always within one user.
CREATE INDEX people_user_order_idx ON people (user_id, last_name, first_name, id);
-- has_key (?) and meta containment (@>) on arbitrary metadata.
CREATE INDEX people_metadata_gin_idx ON people USING gin (metadata);

-- Every scalar value anywhere in a JSON document, as one text (for `q` search).
CREATE FUNCTION jsonb_values_text(doc jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(string_agg(value #>> '{}', ' '), '')
    FROM jsonb_path_query(doc, 'strict $.**') AS value
    WHERE jsonb_typeof(value) NOT IN ('object', 'array')
$$;
"""


def upgrade() -> None:
    op.execute(EVENT_STORE)
    op.execute(PROJECTION_TRACKING)
    op.execute(PEOPLE)


def downgrade() -> None:
    op.execute(
        "DROP TABLE people; DROP FUNCTION jsonb_values_text; DROP TABLE projection_tracking;"
    )
    op.execute("DROP TABLE pcem_events; DROP TYPE stored_event_uuid;")
