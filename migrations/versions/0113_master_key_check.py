"""``master_key_check``: one value sealed by ``PCEM_MASTER_KEY`` at its first use.

A process that starts with another key cannot open it and stops with one line (exit
status 2) instead of reading every event as erased or wrapping new keys that no other
process can open (docs/privacy.md). One row at most. The API's role never reads it.

Revision ID: 0113
Revises: 0112
Create Date: 2026-12-06
"""

from alembic import op

revision = "0113"
down_revision = "0112"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE master_key_check (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    sealed bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("DROP TABLE master_key_check")
