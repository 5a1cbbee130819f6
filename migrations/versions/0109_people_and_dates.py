"""The ``people`` projection is called ``people_and_dates``: it writes people and
relationships, their events, occurrences and settings, and the reminder schedule.

Renames its tracking rows (the live one and ``@rebuild``/``@verify``) and the schemas
of a rebuild or verification in progress, so either resumes under the new name. Stop
every ``pcem projector`` before migrating (docs/operations.md): one of the old release
would start the ``people`` projection afresh.

Revision ID: 0109
Revises: 0108
Create Date: 2026-12-06
"""

from alembic import op

revision = "0109"
down_revision = "0108"
branch_labels = None
depends_on = None


def _rename(old: str, new: str) -> str:
    return f"""
DELETE FROM projection_tracking
 WHERE (name = '{new}' OR name LIKE '{new}@%')
   AND EXISTS (SELECT 1 FROM projection_tracking WHERE name = '{old}');
UPDATE projection_tracking SET name = '{new}' || substr(name, {len(old) + 1})
 WHERE name = '{old}' OR name LIKE '{old}@%';
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'rebuild_{old}') THEN
        ALTER SCHEMA rebuild_{old} RENAME TO rebuild_{new};
    END IF;
    IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'verify_{old}') THEN
        ALTER SCHEMA verify_{old} RENAME TO verify_{new};
    END IF;
END $$;
"""  # noqa: S608 (two constant names, no input)


def upgrade() -> None:
    op.execute(_rename("people", "people_and_dates"))


def downgrade() -> None:
    op.execute(_rename("people_and_dates", "people"))
