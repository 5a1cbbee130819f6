"""Erasure: ``account_erasures`` (each account erasure, its progress, who asked) and
``notifications.erased_at`` (a notification about an erased subject, kept as a key).

An account erasure is a row first (with the outbox message that starts it), then work
in bounded, committed steps that record how far they got, so an interrupted one
resumes (``pcem.erasure.accounts``). Its ``generation`` is the account that follows:
the ids PCEM derives for a user (their settings, the people an import makes) take it,
since an erased aggregate's id is never used again.

A notification about an erased person or account stays in the ledger, its title,
body and errors blanked and ``erased_at`` set: its key keeps a rebuilt schedule from
making (and sending) it again, and no read shows it.

Revision ID: 0114
Revises: 0113
Create Date: 2026-12-07
"""

from alembic import op

revision = "0114"
down_revision = "0113"
branch_labels = None
depends_on = None

THE_USER = "nullif(current_setting('pcem.user_id', true), '')"

UPGRADE = f"""
CREATE TABLE account_erasures (
    id uuid PRIMARY KEY,
    user_id text NOT NULL,
    generation integer NOT NULL CHECK (generation > 0),  -- the account that follows
    requested_by text NOT NULL,  -- the user themself, or the operator who ran it
    channel text NOT NULL CHECK (channel IN ('api', 'cli')),
    head_position bigint NOT NULL,  -- the event store's head when it was asked for
    state text NOT NULL CHECK (state IN ('erasing', 'done')),
    people_cursor uuid,  -- the last person purged (in id order)
    people_purged integer NOT NULL DEFAULT 0,
    tombstones_position bigint NOT NULL DEFAULT 0,  -- the last tombstone written
    keys_destroyed integer NOT NULL DEFAULT 0,
    requested_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    finished_at timestamptz,
    UNIQUE (user_id, generation)
);
CREATE INDEX account_erasures_unfinished ON account_erasures (updated_at)
    WHERE state = 'erasing';
ALTER TABLE account_erasures ENABLE ROW LEVEL SECURITY;
ALTER TABLE account_erasures FORCE ROW LEVEL SECURITY;
CREATE POLICY pcem_user ON account_erasures TO pcem_api USING (user_id = {THE_USER});
CREATE POLICY pcem_owner ON account_erasures TO CURRENT_USER USING (true) WITH CHECK (true);
-- The export reads which account it exports (its settings' id), as the user.
GRANT SELECT (user_id, generation, state) ON account_erasures TO pcem_api;

ALTER TABLE notifications ADD COLUMN erased_at timestamptz;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("ALTER TABLE notifications DROP COLUMN erased_at")
    op.execute("DROP TABLE account_erasures")
