"""The API reads the notification schedule as the user: the reminders still to come
are listed with the notifications (``pcem.notifications.pending``).

``notification_schedule`` has had its row-level security policy since 0108; this
grants ``pcem_api`` the SELECT it lacked, so those reads run under the policy like
every other user read.

Revision ID: 0115
Revises: 0114
Create Date: 2026-12-10
"""

from alembic import op

revision = "0115"
down_revision = "0114"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("GRANT SELECT ON notification_schedule TO pcem_api")


def downgrade() -> None:
    op.execute("REVOKE SELECT ON notification_schedule FROM pcem_api")
