"""``imports``: each contact import, its file while it runs, and its counts.

The API inserts the row (status ``queued``) with an outbox message in one transaction;
the worker runs it in batches and writes the counts after each, so they move while it
runs and a run killed mid-file resumes after the last batch it recorded. The file is
kept only until the import finishes (``content`` is set to NULL then). Users read their
imports as ``pcem_api`` under row-level security, like every user table.

The outbox's ``notification_id`` becomes ``subject_id``: its messages now name an
import as well as a notification (the ``task`` column says which).

Revision ID: 0111
Revises: 0110
Create Date: 2026-12-06
"""

from alembic import op

revision = "0111"
down_revision = "0110"
branch_labels = None
depends_on = None

THE_USER = "nullif(current_setting('pcem.user_id', true), '')"

UPGRADE = f"""
CREATE TABLE imports (
    id uuid PRIMARY KEY,
    user_id text NOT NULL,
    status text NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    format text NOT NULL CHECK (format IN ('vcard', 'csv')),
    dry_run boolean NOT NULL,
    total integer NOT NULL DEFAULT 0,
    processed integer NOT NULL DEFAULT 0,
    created integer NOT NULL DEFAULT 0,
    updated integer NOT NULL DEFAULT 0,
    unchanged integer NOT NULL DEFAULT 0,
    skipped integer NOT NULL DEFAULT 0,
    problems jsonb NOT NULL DEFAULT '[]',
    content bytea,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    finished_at timestamptz
);
CREATE INDEX imports_by_user ON imports (user_id, created_at DESC, id DESC);
CREATE INDEX imports_unfinished ON imports (updated_at) WHERE status IN ('queued', 'running');
ALTER TABLE imports ENABLE ROW LEVEL SECURITY;
ALTER TABLE imports FORCE ROW LEVEL SECURITY;
CREATE POLICY pcem_user ON imports TO pcem_api USING (user_id = {THE_USER});
CREATE POLICY pcem_owner ON imports TO CURRENT_USER USING (true) WITH CHECK (true);
GRANT SELECT (id, user_id, status, format, dry_run, total, processed, created, updated,
    unchanged, skipped, problems, created_at, updated_at, finished_at) ON imports TO pcem_api;

ALTER TABLE outbox RENAME COLUMN notification_id TO subject_id;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("ALTER TABLE outbox RENAME COLUMN subject_id TO notification_id")
    op.execute("DROP TABLE imports")
