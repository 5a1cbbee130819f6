"""Relationships read table, idempotency records and the people search text.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

RELATIONSHIPS = """
CREATE TABLE relationships (
    id uuid PRIMARY KEY,
    user_id text NOT NULL,
    source_id uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    target_id uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    type text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX relationships_source_idx ON relationships (user_id, source_id, created_at, id);
CREATE INDEX relationships_target_idx ON relationships (user_id, target_id, created_at, id);
"""

# Written by the event store recorder in the same transaction as the events.
IDEMPOTENCY = """
CREATE TABLE idempotency_keys (
    user_id text NOT NULL,
    key text NOT NULL,
    request_hash text NOT NULL,
    aggregate_id uuid NOT NULL,
    aggregate_version bigint NOT NULL,
    result_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
"""


# `q` searches one precomputed, lower-cased text per person instead of
# re-reading every metadata value of every candidate row on each query.
SEARCH_TEXT = """
ALTER TABLE people ADD COLUMN search_text text GENERATED ALWAYS AS (
    lower(first_name || ' ' || last_name || ' ' || coalesce(primary_contact, '') || ' '
          || jsonb_values_text(metadata))
) STORED;
"""


def upgrade() -> None:
    op.execute(SEARCH_TEXT)
    op.execute(RELATIONSHIPS)
    op.execute(IDEMPOTENCY)


def downgrade() -> None:
    op.execute("DROP TABLE idempotency_keys; DROP TABLE relationships;")
    op.execute("ALTER TABLE people DROP COLUMN search_text")
