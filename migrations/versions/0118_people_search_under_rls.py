"""People search that can use its indexes under row-level security: ``people_page``.

As ``pcem_api`` the policy's ``user_id`` test is a security barrier, and the search
operators (``?&``, ``@>``, ``LIKE``) are not leakproof, so PostgreSQL applies them only
after it and never as index conditions: every search walked the user's whole order
index (docs/performance.md). ``people_page`` runs the one page query with its owner's
rights (SECURITY DEFINER), where they are ordinary quals and an index can serve them,
and is the wall itself: it returns only rows whose ``user_id`` is both the one asked
for and the transaction's ``pcem.user_id`` — nothing when that is not set or differs.
Its body is fixed, so a caller adds no qual of its own inside the scan; its search
path ends in ``pg_temp``, so a temporary table cannot stand in for ``people``. Only
``pcem_api`` (and the owner) may call it. Each call is planned with its values
(``force_custom_plan``): whether walking the order index or an index bitmap is cheaper
depends on how common the searched value is.

The indexes that serve it put ``user_id`` first in one GIN index, so a search reads
only the user's postings (``btree_gin``), and give ``q`` a trigram index (``pg_trgm``):
``(user_id, metadata)`` replaces ``(metadata)``, and ``(user_id, search_text)`` is new.
Both extensions ship with PostgreSQL's contrib; where they are missing or may not be
created (the embedded server of ``pcem dev``), the old index stays and searches
are as before, only slower. ``q`` becomes a ``LIKE`` with its wildcards escaped: the
same rows as ``strpos``, in a form a trigram index can answer.

Downgrading leaves the extensions installed (as 0108 leaves its role).

Revision ID: 0118
Revises: 0117
Create Date: 2026-12-11
"""

from alembic import op
from sqlalchemy import text

revision = "0118"
down_revision = "0117"
branch_labels = None
depends_on = None

EXTENSIONS = ("btree_gin", "pg_trgm")
# Each one installed, or available and this role may create it (both are trusted).
USABLE = text(
    "SELECT count(*) FROM pg_available_extensions WHERE name = ANY(:names)"
    " AND (installed_version IS NOT NULL"
    "      OR has_database_privilege(current_database(), 'CREATE'))"
)
INDEXES = """
CREATE INDEX people_user_metadata_idx ON people USING gin (user_id, metadata);
CREATE INDEX people_user_search_text_idx ON people USING gin (user_id, search_text gin_trgm_ops);
DROP INDEX people_metadata_gin_idx;
"""

PEOPLE_PAGE = r"""
CREATE FUNCTION people_page(
    for_user text, after_last text, after_first text, after_id uuid,
    has_keys text[], meta jsonb, q text, page_size integer
) RETURNS TABLE (
    id uuid, first_name text, last_name text, primary_contact text, metadata jsonb,
    version bigint, created_at timestamptz, updated_at timestamptz
)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    -- q as a substring, its own %, _ and \ taken literally.
    pattern text := '%' || replace(replace(replace(lower(q), '\', '\\'), '%', '\%'), '_', '\_')
                    || '%';
BEGIN
    RETURN QUERY
    SELECT p.id, p.first_name, p.last_name, p.primary_contact, p.metadata, p.version,
           p.created_at, p.updated_at
    FROM people p
    WHERE p.user_id = nullif(current_setting('pcem.user_id', true), '')
      AND p.user_id = for_user
      AND p.deleted_at IS NULL
      -- A filter not asked for is NULL and folds away when the call is planned.
      AND (after_id IS NULL
           OR (p.last_name, p.first_name, p.id) > (after_last, after_first, after_id))
      AND (has_keys IS NULL OR (p.metadata ?& has_keys AND NOT EXISTS (
               SELECT FROM unnest(has_keys) AS k WHERE p.metadata -> k = 'null'::jsonb)))
      AND (meta IS NULL OR p.metadata @> meta)
      AND (q IS NULL OR p.search_text LIKE pattern)
    ORDER BY p.last_name, p.first_name, p.id
    LIMIT page_size;
END $$;
REVOKE ALL ON FUNCTION people_page FROM PUBLIC;
GRANT EXECUTE ON FUNCTION people_page TO pcem_api;
"""


def upgrade() -> None:
    if op.get_bind().scalar(USABLE, {"names": list(EXTENSIONS)}) == len(EXTENSIONS):
        for extension in EXTENSIONS:
            op.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")
        op.execute(INDEXES)
    op.execute(PEOPLE_PAGE)


def downgrade() -> None:
    op.execute("DROP FUNCTION people_page")
    op.execute(
        "CREATE INDEX IF NOT EXISTS people_metadata_gin_idx ON people USING gin (metadata);"
        " DROP INDEX IF EXISTS people_user_metadata_idx;"
        " DROP INDEX IF EXISTS people_user_search_text_idx"
    )
