"""A finer sample of ``people.search_text`` for the planner: statistics target 1000.

``q`` is a ``LIKE '%word%'`` that ``people_page`` plans with its value. With the
default sample (100) the planner underestimates how many rows a common word matches
(about 1,000 against 1,827 of a user's 50,000 in ``benchmarks/people_search.py``)
and, depending on the sample ANALYZE happened to draw, reads the trigram index,
whose postings for common trigrams span every user's rows: 8 to 17 ms, where walking
the user's order index to the 51st match takes 1 to 2 ms. At 1000 the estimate is
close (1,901) and the walk is chosen (docs/performance.md). A rebuild's shadow
tables carry each column's target over (``pcem.projector.shadow``), so a rebuild
keeps it.

Revision ID: 0119
Revises: 0118
Create Date: 2026-12-07
"""

from alembic import op

revision = "0119"
down_revision = "0118"
branch_labels = None
depends_on = None

TARGET = 1000


def upgrade() -> None:
    op.execute(f"ALTER TABLE people ALTER COLUMN search_text SET STATISTICS {TARGET}")


def downgrade() -> None:
    op.execute("ALTER TABLE people ALTER COLUMN search_text SET STATISTICS -1")
