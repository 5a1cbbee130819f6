"""``subject_keys``: each subject's data key, wrapped by ``PCEM_MASTER_KEY``.

An event's content is sealed with the key of its aggregate (its subject); a person's
events, and the events of their calendar entries, are erased together by destroying
every key whose ``person_id`` is theirs; a user's, by destroying every key of the
user. Destroying sets ``wrapped_key`` to NULL (the row stays: it says when, and a
missing key then reads as "erased", not as "never existed"). The table lives apart from
the events so that keys and events can be backed up on schedules of their own
(docs/privacy.md). The API's role never reads it.

Revision ID: 0112
Revises: 0111
Create Date: 2026-12-06
"""

from alembic import op

revision = "0112"
down_revision = "0111"
branch_labels = None
depends_on = None

THE_USER = "nullif(current_setting('pcem.user_id', true), '')"

UPGRADE = f"""
CREATE TABLE subject_keys (
    subject_id uuid PRIMARY KEY,
    user_id text NOT NULL,
    person_id uuid,
    wrapped_key bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    destroyed_at timestamptz,
    CHECK ((wrapped_key IS NULL) = (destroyed_at IS NOT NULL))
);
CREATE INDEX subject_keys_by_person ON subject_keys (person_id) WHERE person_id IS NOT NULL;
CREATE INDEX subject_keys_live_by_user ON subject_keys (user_id, subject_id)
    WHERE wrapped_key IS NOT NULL;
-- User-scoped like every table with a user_id; pcem_api is granted nothing on it.
ALTER TABLE subject_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE subject_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY pcem_user ON subject_keys TO pcem_api USING (user_id = {THE_USER});
CREATE POLICY pcem_owner ON subject_keys TO CURRENT_USER USING (true) WITH CHECK (true);
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("DROP TABLE subject_keys")
