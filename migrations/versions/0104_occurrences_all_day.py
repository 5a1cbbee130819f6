"""Occurrences say whether they are all day, answered from the covering index.

The upcoming query answers ``all_day`` with every occurrence; carrying it in
the row (and in the index's INCLUDE list) keeps that query one index-only
scan, where a join to ``events`` would visit an event row per occurrence.
Existing rows take the value of their event.

Revision ID: 0104
Revises: 0103
Create Date: 2026-12-01
"""

from alembic import op

revision = "0104"
down_revision = "0103"
branch_labels = None
depends_on = None

COLUMNS = "local_date, person_id, person_name, title, is_special_event"


def upgrade() -> None:
    op.execute("ALTER TABLE occurrences ADD COLUMN all_day boolean")
    op.execute("UPDATE occurrences o SET all_day = e.all_day FROM events e WHERE e.id = o.event_id")
    op.execute("ALTER TABLE occurrences ALTER COLUMN all_day SET NOT NULL")
    _upcoming_index(f"{COLUMNS}, all_day")


def downgrade() -> None:
    _upcoming_index(COLUMNS)
    op.execute("ALTER TABLE occurrences DROP COLUMN all_day")


def _upcoming_index(included: str) -> None:
    op.execute("DROP INDEX occurrences_upcoming_idx")
    op.execute(
        "CREATE INDEX occurrences_upcoming_idx ON occurrences (user_id, occurs_at, event_id)"
        f" INCLUDE ({included})"
    )
