"""``calendar_feeds``: each user's secret calendar feed URL, kept only as its token's hash.

One row per user at most: creating a feed replaces the row, so an earlier URL stops
working in the same statement. The feed route looks the hash up as the owner (a request
with no user yet); the status route reads the row as the user, under row-level security
like every user table (migration 0108's policies, so ``pcem_api`` may only ``SELECT``).

Revision ID: 0110
Revises: 0109
Create Date: 2026-12-06
"""

from alembic import op

revision = "0110"
down_revision = "0109"
branch_labels = None
depends_on = None

THE_USER = "nullif(current_setting('pcem.user_id', true), '')"

UPGRADE = f"""
CREATE TABLE calendar_feeds (
    user_id text PRIMARY KEY,
    token_hash bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    last_fetched_at timestamptz
);
ALTER TABLE calendar_feeds ENABLE ROW LEVEL SECURITY;
ALTER TABLE calendar_feeds FORCE ROW LEVEL SECURITY;
CREATE POLICY pcem_user ON calendar_feeds TO pcem_api USING (user_id = {THE_USER});
CREATE POLICY pcem_owner ON calendar_feeds TO CURRENT_USER USING (true) WITH CHECK (true);
GRANT SELECT ON calendar_feeds TO pcem_api;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("DROP TABLE calendar_feeds")
