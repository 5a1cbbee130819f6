"""Row-level security on every user-scoped table, and the role ``pcem_api`` the API's
user reads and writes run as (``pcem.database.row_security``).

``pcem_api`` is NOLOGIN: the API connects as the tables' owner, the one
``PCEM_DATABASE_URL``, and becomes ``pcem_api`` for one transaction at a time. It owns
nothing, is no superuser and does not bypass RLS; it may read what the API answers a
user, and mark a notification read. A policy lets it see the rows whose ``user_id`` is
the transaction's ``pcem.user_id``: none when that is not set.

``FORCE`` puts the owner under the policies too: a superuser owner (CI, ``pcem dev``,
docker-compose) bypasses them anyway; an owner that is not one gets a policy of its own
that lets it see every row, as the projector, rebuilds and the process manager need.

Roles belong to the cluster, not to a database: the role is created once and found
again by every later database (concurrent migrations of two databases included), and
downgrading leaves it in place.

Revision ID: 0108
Revises: 0107
Create Date: 2026-12-08
"""

from alembic import op

revision = "0108"
down_revision = "0107"
branch_labels = None
depends_on = None

# Every table with a user_id column; `tests/integration/test_row_security.py` checks
# that no such table is missing here.
USER_TABLES = (
    "people",
    "relationships",
    "events",
    "occurrences",
    "user_settings",
    "notification_schedule",
    "notifications",
    "idempotency_keys",
)
# What the API reads as pcem_api (occurrence_horizon: one row, nobody's).
READABLE = (
    "people",
    "relationships",
    "events",
    "occurrences",
    "user_settings",
    "notifications",
    "notification_attempts",
    "occurrence_horizon",
)

THE_USER = "nullif(current_setting('pcem.user_id', true), '')"

ROLE = """
DO $$
BEGIN
    CREATE ROLE pcem_api NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
EXCEPTION
    -- Made by an earlier database's migration, or by a concurrent one just now.
    WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
-- A superuser may become any role; any other owner must be a member of pcem_api.
DO $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('GRANT pcem_api TO %I', current_user);
    END IF;
END $$;
GRANT USAGE ON SCHEMA public TO pcem_api;
"""


def _policies(table: str, mine: str) -> str:
    return f"""
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS pcem_user ON {table};
CREATE POLICY pcem_user ON {table} TO pcem_api USING ({mine});
DROP POLICY IF EXISTS pcem_owner ON {table};
CREATE POLICY pcem_owner ON {table} TO CURRENT_USER USING (true) WITH CHECK (true);
"""


def upgrade() -> None:
    op.execute(ROLE)
    for table in USER_TABLES:
        op.execute(_policies(table, f"user_id = {THE_USER}"))
    # An attempt is as visible as its notification.
    op.execute(
        _policies(
            "notification_attempts",
            "EXISTS (SELECT 1 FROM notifications n WHERE n.id = notification_id"  # noqa: S608 (constants)
            f" AND n.user_id = {THE_USER})",
        )
    )
    op.execute(f"GRANT SELECT ON {', '.join(READABLE)} TO pcem_api")
    op.execute("GRANT UPDATE (read_at, updated_at) ON notifications TO pcem_api")


def downgrade() -> None:
    op.execute(f"REVOKE ALL ON {', '.join(READABLE)} FROM pcem_api")
    op.execute("REVOKE UPDATE (read_at, updated_at) ON notifications FROM pcem_api")
    for table in (*USER_TABLES, "notification_attempts"):
        op.execute(
            f"DROP POLICY IF EXISTS pcem_user ON {table};"
            f" DROP POLICY IF EXISTS pcem_owner ON {table};"
            f" ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY;"
            f" ALTER TABLE {table} DISABLE ROW LEVEL SECURITY"
        )
    op.execute("REVOKE USAGE ON SCHEMA public FROM pcem_api")
