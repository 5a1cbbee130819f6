"""The in-app stream's read: a user's sent in-app notifications in ``(sent_at, id)`` order.

Every open stream reads it at least once a second, from a little before where
it is; without this index each read would visit all of the user's notifications.

Revision ID: 0107
Revises: 0106
Create Date: 2026-12-02
"""

from alembic import op

revision = "0107"
down_revision = "0106"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX notifications_in_app_sent_idx ON notifications (user_id, sent_at, id)"
        " WHERE channel = 'in_app' AND status = 'sent'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX notifications_in_app_sent_idx")
