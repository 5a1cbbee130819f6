"""Where a failed projection stopped: the position of the event it cannot apply.

Revision ID: 0100
Revises: 0003
Create Date: 2026-11-22
"""

from alembic import op

revision = "0100"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE projection_tracking ADD COLUMN failed_position bigint")


def downgrade() -> None:
    op.execute("ALTER TABLE projection_tracking DROP COLUMN failed_position")
