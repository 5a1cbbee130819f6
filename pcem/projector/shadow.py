"""Shadow tables: exact copies of a projection's table definitions in another schema.

A rebuild fills the copies while the live tables keep serving, then swaps them
in; afterwards the live tables must be indistinguishable from before except
for their rows. So the copy carries over everything that defines a table:
columns (types, defaults, generated expressions, CHECK and NOT NULL, the planner's
statistics target), primary
key, unique and exclusion constraints and every index under its own name,
foreign keys between the projection's tables, triggers, row-level security and
its policies, privileges and the owner. :func:`signature` describes all of it,
to prove two definitions equal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, text

LIVE_SCHEMA = "public"

COLUMNS = text(
    "SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull,"
    " pg_get_expr(d.adbin, d.adrelid) AS default, a.attgenerated, a.attidentity,"
    " a.attstattarget"
    " FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
    " WHERE a.attrelid = CAST(:table AS regclass) AND a.attnum > 0 AND NOT a.attisdropped"
    " ORDER BY a.attnum"
)
CONSTRAINTS = text(
    "SELECT conname, contype, pg_get_constraintdef(oid) AS definition,"
    " (SELECT relname FROM pg_class WHERE oid = confrelid) AS refers_to"
    " FROM pg_constraint WHERE conrelid = CAST(:table AS regclass)"
    " ORDER BY contype <> 'p', contype, conname"
)
PLAIN_INDEXES = text(  # indexes not made by a constraint
    "SELECT c.relname AS name, i.indisunique, pg_get_indexdef(i.indexrelid) AS definition"
    " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
    " WHERE i.indrelid = CAST(:table AS regclass) AND NOT EXISTS (SELECT 1 FROM pg_constraint k"
    "  WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid)"
    " ORDER BY c.relname"
)
TRIGGERS = text(
    "SELECT tgname AS name, pg_get_triggerdef(oid) AS definition FROM pg_trigger"
    " WHERE tgrelid = CAST(:table AS regclass) AND NOT tgisinternal ORDER BY tgname"
)
POLICIES = text(
    "SELECT policyname, permissive, roles::text[] AS roles, cmd, qual, with_check"
    " FROM pg_policies WHERE schemaname = :schema AND tablename = :name ORDER BY policyname"
)
TABLE = text(
    "SELECT relrowsecurity, relforcerowsecurity, pg_get_userbyid(relowner) AS owner"
    " FROM pg_class WHERE oid = CAST(:table AS regclass)"
)
GRANTS = text(
    "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee))"
    " END AS grantee, a.privilege_type, a.is_grantable"
    " FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = CAST(:table AS regclass)"
    " AND a.grantee <> c.relowner ORDER BY 1, 2"
)
SEQUENCE_COLUMNS = text(
    "SELECT a.attname FROM pg_attribute a LEFT JOIN pg_attrdef d"
    " ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
    " WHERE a.attrelid = CAST(:table AS regclass) AND a.attnum > 0 AND NOT a.attisdropped"
    " AND (a.attidentity <> '' OR pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%')"
)
REFERENCED_FROM = text(
    "SELECT conrelid::regclass::text AS referrer, confrelid::regclass::text AS referenced"
    " FROM pg_constraint WHERE contype = 'f' AND confrelid = ANY(CAST(:tables AS regclass[]))"
    " AND NOT conrelid = ANY(CAST(:tables AS regclass[]))"
)
DEPENDENT_VIEWS = text(
    "SELECT DISTINCT v.oid::regclass::text AS view, d.refobjid::regclass::text AS referenced"
    " FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class"
    " WHERE d.refobjid = ANY(CAST(:tables AS regclass[])) AND v.oid <> d.refobjid"
)
SCHEMA_EXISTS = text("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = :schema)")
PRINTED_NAME = text("SELECT format('%I.%I', CAST(:schema AS text), CAST(:table AS text))")
SEARCH_PATH = text("SELECT set_config('search_path', :path, true)")


class ShadowError(Exception):
    """The tables cannot be copied faithfully (the message says why)."""


def qualified(schema: str, table: str) -> str:
    return f"{quote(schema)}.{quote(table)}"


def quote(identifier: str) -> str:
    """Always quoted: safe for any name, and never mistaken for a keyword."""
    return '"' + identifier.replace('"', '""') + '"'


def check_rebuildable(conn: Connection, tables: Sequence[str]) -> None:
    """Refuse tables a replay could not reproduce, or that other objects depend on
    (they would keep pointing at the old tables, and block dropping them)."""
    live = [qualified(LIVE_SCHEMA, t) for t in tables]
    for table in live:
        generated = conn.execute(SEQUENCE_COLUMNS, {"table": table}).scalars().all()
        if generated:
            raise ShadowError(
                f"{table}.{generated[0]} takes values from a sequence; a replay would number "
                "rows differently (keys must come from events)"
            )
    for row in conn.execute(REFERENCED_FROM, {"tables": live}):
        raise ShadowError(
            f"{row.referrer} has a foreign key to {row.referenced}, which a rebuild replaces; "
            "only tables of the same projection may reference it"
        )
    for row in conn.execute(DEPENDENT_VIEWS, {"tables": live}):
        raise ShadowError(
            f"view {row.view} reads {row.referenced}, which a rebuild replaces; "
            "drop the view (or query the table directly) first"
        )


def create_shadow(conn: Connection, schema: str, tables: Sequence[str]) -> None:
    """(Re)create ``schema`` holding empty copies of the live ``tables``."""
    ddl(conn, f"DROP SCHEMA IF EXISTS {quote(schema)} CASCADE")
    ddl(conn, f"CREATE SCHEMA {quote(schema)}")
    conn.execute(SEARCH_PATH, {"path": LIVE_SCHEMA})  # definitions name live tables bare
    for table in tables:
        _copy_table(conn, schema, table)
    foreign_keys = [(t, fk) for t in tables for fk in _constraints(conn, LIVE_SCHEMA, t, "f")]
    # Their bare table names, run with the copies first on the path, point at the copies.
    conn.execute(SEARCH_PATH, {"path": f"{quote(schema)}, {LIVE_SCHEMA}"})
    for table, constraint in foreign_keys:
        _add_constraint(conn, qualified(schema, table), constraint)
    conn.execute(SEARCH_PATH, {"path": LIVE_SCHEMA})


def schema_exists(conn: Connection, schema: str) -> bool:
    return bool(conn.execute(SCHEMA_EXISTS, {"schema": schema}).scalar_one())


def signature(conn: Connection, schema: str, tables: Sequence[str]) -> dict[str, Any]:
    """Everything that defines the tables, independent of the schema they are in."""
    conn.execute(SEARCH_PATH, {"path": f"{quote(schema)}, {LIVE_SCHEMA}"})
    described = {table: _describe(conn, schema, table) for table in tables}
    conn.execute(SEARCH_PATH, {"path": LIVE_SCHEMA})
    return described


def ddl(conn: Connection, statement: str) -> None:
    """Run a statement built from catalog text (which may hold a literal ``%``)."""
    conn.exec_driver_sql(statement.replace("%", "%%"))


def _copy_table(conn: Connection, schema: str, table: str) -> None:
    live, copy = qualified(LIVE_SCHEMA, table), qualified(schema, table)
    ddl(conn, f"CREATE TABLE {copy} (LIKE {live} INCLUDING ALL EXCLUDING INDEXES)")
    # A column's statistics target (the planner's sample) is not copied by LIKE. Unset
    # it is -1 (NULL from PostgreSQL 17 on).
    for column in conn.execute(COLUMNS, {"table": live}):
        if column.attstattarget is not None and column.attstattarget >= 0:
            target = int(column.attstattarget)
            ddl(
                conn,
                f"ALTER TABLE {copy} ALTER COLUMN {quote(column.attname)} SET STATISTICS {target}",
            )
    for constraint in _constraints(conn, LIVE_SCHEMA, table, kinds="pux"):
        _add_constraint(conn, copy, constraint)
    printed = f" ON {_printed(conn, LIVE_SCHEMA, table)} "
    for index in conn.execute(PLAIN_INDEXES, {"table": live}):
        ddl(conn, _retarget(index.definition, printed, f" ON {copy} "))
    for trigger in conn.execute(TRIGGERS, {"table": live}):
        ddl(conn, _retarget(trigger.definition, printed, f" ON {copy} "))
    _copy_security(conn, table, copy)


def _copy_security(conn: Connection, table: str, copy: str) -> None:
    live = qualified(LIVE_SCHEMA, table)
    flags = conn.execute(TABLE, {"table": live}).one()
    ddl(conn, f"ALTER TABLE {copy} OWNER TO {quote(flags.owner)}")
    if flags.relrowsecurity:
        ddl(conn, f"ALTER TABLE {copy} ENABLE ROW LEVEL SECURITY")
    if flags.relforcerowsecurity:
        ddl(conn, f"ALTER TABLE {copy} FORCE ROW LEVEL SECURITY")
    for policy in conn.execute(POLICIES, {"schema": LIVE_SCHEMA, "name": table}):
        ddl(conn, _policy_sql(copy, policy))
    for grant in conn.execute(GRANTS, {"table": live}):
        option = " WITH GRANT OPTION" if grant.is_grantable else ""
        ddl(conn, f"GRANT {grant.privilege_type} ON {copy} TO {grant.grantee}{option}")


def _policy_sql(table: str, policy: Any) -> str:
    roles = ", ".join(r if r == "public" else quote(r) for r in policy.roles)
    sql = f"CREATE POLICY {quote(policy.policyname)} ON {table} AS {policy.permissive}"
    sql += f" FOR {policy.cmd} TO {roles}"
    if policy.qual is not None:
        sql += f" USING ({policy.qual})"
    if policy.with_check is not None:
        sql += f" WITH CHECK ({policy.with_check})"
    return sql


def _constraints(conn: Connection, schema: str, table: str, kinds: str) -> list[Any]:
    rows = conn.execute(CONSTRAINTS, {"table": qualified(schema, table)}).all()
    return [r for r in rows if r.contype in kinds]


def _add_constraint(conn: Connection, table: str, constraint: Any) -> None:
    ddl(
        conn,
        f"ALTER TABLE {table} ADD CONSTRAINT {quote(constraint.conname)} {constraint.definition}",
    )


def _printed(conn: Connection, schema: str, table: str) -> str:
    """A table's name as PostgreSQL prints it in index and trigger definitions."""
    return str(conn.execute(PRINTED_NAME, {"schema": schema, "table": table}).scalar_one())


def _retarget(definition: str, old: str, new: str) -> str:
    if definition.count(old) != 1:
        raise ShadowError(f"cannot tell which table this definition is on: {definition}")
    return definition.replace(old, new)


def _describe(conn: Connection, schema: str, table: str) -> dict[str, Any]:
    name = qualified(schema, table)
    printed = f" ON {_printed(conn, schema, table)} "
    return {
        "columns": [tuple(r) for r in conn.execute(COLUMNS, {"table": name})],
        "constraints": [
            (r.conname, r.contype, r.definition) for r in conn.execute(CONSTRAINTS, {"table": name})
        ],
        "indexes": [
            (r.name, r.indisunique, r.definition.split(" USING ", 1)[1])
            for r in conn.execute(PLAIN_INDEXES, {"table": name})
        ],
        "triggers": [
            (r.name, r.definition.replace(printed, " ON "))
            for r in conn.execute(TRIGGERS, {"table": name})
        ],
        "policies": [tuple(r) for r in conn.execute(POLICIES, {"schema": schema, "name": table})],
        "table": tuple(conn.execute(TABLE, {"table": name}).one()),
        "grants": [tuple(r) for r in conn.execute(GRANTS, {"table": name})],
    }
