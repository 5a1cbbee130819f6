"""The support access log: who read which aggregate's history, and when. Append-only.

Revision ID: 0102
Revises: 0101
Create Date: 2026-11-22
"""

from alembic import op

revision = "0102"
down_revision = "0101"
branch_labels = None
depends_on = None

ACCESS_LOG = """
CREATE TABLE support_access_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    accessed_at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL,
    aggregate_id uuid NOT NULL,
    channel text NOT NULL CHECK (channel IN ('api', 'cli')),
    found boolean NOT NULL,
    request_id text
);
CREATE INDEX support_access_log_aggregate_idx ON support_access_log (aggregate_id, accessed_at);
CREATE INDEX support_access_log_actor_idx ON support_access_log (actor, accessed_at);

-- Whoever connects, rows once written stay as written: the log cannot be edited.
CREATE FUNCTION support_access_log_is_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'support_access_log is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER support_access_log_is_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON support_access_log
    FOR EACH STATEMENT EXECUTE FUNCTION support_access_log_is_append_only();
"""


def upgrade() -> None:
    op.execute(ACCESS_LOG)


def downgrade() -> None:
    op.execute("DROP TABLE support_access_log")
    op.execute("DROP FUNCTION support_access_log_is_append_only")
