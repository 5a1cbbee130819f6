"""Each attempt names the message that carried it (the reminder digest).

Email and SMS reminders of one user due the same minute on the same channel go out
as one message; ``message_id`` is that message's id in every member's attempt (the
notification's own id when it went alone), so the attempt log says which message
carried it. Earlier attempts, and attempts that sent nothing (cancelled), have none.

Revision ID: 0117
Revises: 0116
Create Date: 2026-12-06
"""

from alembic import op

revision = "0117"
down_revision = "0116"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE notification_attempts ADD COLUMN message_id uuid")


def downgrade() -> None:
    op.execute("ALTER TABLE notification_attempts DROP COLUMN message_id")
