"""Serve the upcoming query from the index alone.

The occurrences index now also orders by event id (the query's tie-break) and
carries every column the query answers, so PostgreSQL can answer with an
index-only scan instead of visiting one heap page per occurrence.

Revision ID: 0103
Revises: 0102
Create Date: 2026-11-22
"""

from alembic import op

revision = "0103"
down_revision = "0102"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX occurrences_upcoming_idx ON occurrences (user_id, occurs_at, event_id)"
        " INCLUDE (local_date, person_id, person_name, title, is_special_event)"
    )
    op.execute("DROP INDEX occurrences_user_time_idx")


def downgrade() -> None:
    op.execute("CREATE INDEX occurrences_user_time_idx ON occurrences (user_id, occurs_at)")
    op.execute("DROP INDEX occurrences_upcoming_idx")
