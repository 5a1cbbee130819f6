"""`pcem projections verify`: rebuild a projection aside and compare it with the live tables.

The fresh copy is built exactly as a rebuild builds it (schema ``verify_<name>``,
tracking row ``<name>@verify``), up to the live projection's position. The
comparison runs in one REPEATABLE READ snapshot, in which the live tables and
their position are consistent (they commit together) and the copy is brought
to that same position first; so it never blocks the live runner, and a
difference is a real one. Everything aside is dropped afterwards.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import Mapper
from sqlalchemy import Connection, Engine, text

from pcem.projections.base import Projection
from pcem.projector.batches import Track
from pcem.projector.rebuild import REBUILD_BATCH, Progress, Rebuild
from pcem.projector.shadow import LIVE_SCHEMA, qualified, quote

EXAMPLES = 10

LIVE_POSITION = text("SELECT position FROM projection_tracking WHERE name = :name")
KEY_COLUMNS = text(
    "SELECT a.attname FROM pg_index i JOIN pg_attribute a"
    " ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
    " WHERE i.indrelid = CAST(:table AS regclass) AND i.indisprimary"
    " ORDER BY array_position(CAST(i.indkey AS int2[]), a.attnum)"
)


@dataclass(frozen=True)
class Difference:
    key: str
    kind: str  # "only live", "only rebuilt" or "differs"


@dataclass(frozen=True)
class TableComparison:
    table: str
    key: str
    live_rows: int
    fresh_rows: int
    live_checksum: str
    fresh_checksum: str
    differences: int
    examples: list[Difference]

    @property
    def identical(self) -> bool:
        return self.differences == 0 and self.live_checksum == self.fresh_checksum


@dataclass(frozen=True)
class VerificationResult:
    position: int
    tables: list[TableComparison]

    @property
    def identical(self) -> bool:
        return all(t.identical for t in self.tables)


def verify_track(name: str) -> Track:
    return Track(f"{name}@verify", schema=f"verify_{name}", state="verifying")


class Verification:
    """Verifies one projection; the caller holds the advisory lock on its track."""

    def __init__(
        self,
        projection: Projection,
        engine: Engine,
        mapper: Mapper[Any],
        *,
        batch_size: int = REBUILD_BATCH,
    ) -> None:
        self.name = projection.name
        self.engine = engine
        self.aside = Rebuild(
            projection, engine, mapper, batch_size=batch_size, track=verify_track(projection.name)
        )

    def run(self, stop: threading.Event, progress: Progress) -> VerificationResult | None:
        """Compare a fresh build with the live tables; None if stopped first."""
        self._discard()  # never resume a verification: it proves a build from scratch
        self.aside.prepare()
        try:
            with self.engine.connect() as conn:
                live_position = self._live_position(conn)
            if not self.aside.build(stop, progress, upto=live_position):
                return None
            return self._compare()
        finally:
            self._discard()

    def _discard(self) -> None:
        with self.engine.begin() as conn:
            self.aside.discard(conn)

    def _live_position(self, conn: Connection) -> int:
        return int(conn.execute(LIVE_POSITION, {"name": self.name}).scalar_one())

    def _compare(self) -> VerificationResult:
        snapshot = self.engine.connect().execution_options(isolation_level="REPEATABLE READ")
        with snapshot as conn, conn.begin():
            position = self._live_position(conn)
            batches, track = self.aside.batches, self.aside.track
            while batches.apply_within(conn, track, self.aside.batch_size, position).full:
                pass
            assert track.schema is not None
            tables = [_compare_table(conn, track.schema, t) for t in self.aside.tables]
        return VerificationResult(position, tables)


def _compare_table(conn: Connection, schema: str, table: str) -> TableComparison:
    live, fresh = qualified(LIVE_SCHEMA, table), qualified(schema, table)
    columns = list(conn.execute(KEY_COLUMNS, {"table": live}).scalars())
    key = _key_expression(columns)
    (live_rows, live_sum), (fresh_rows, fresh_sum) = _summary(conn, live), _summary(conn, fresh)
    differences = (  # only quoted identifiers are interpolated, here and below
        f"SELECT coalesce(l.k, f.k) AS key, CASE WHEN f.k IS NULL THEN 'only live'"  # noqa: S608
        f" WHEN l.k IS NULL THEN 'only rebuilt' ELSE 'differs' END AS kind"
        f" FROM (SELECT {key} AS k, md5(t::text) AS h FROM {live} t) l"
        f" FULL JOIN (SELECT {key} AS k, md5(t::text) AS h FROM {fresh} t) f ON l.k = f.k"
        " WHERE l.h IS DISTINCT FROM f.h"
    )
    count = conn.exec_driver_sql(f"SELECT count(*) FROM ({differences}) d").scalar_one()  # noqa: S608
    rows = conn.exec_driver_sql(f"{differences} ORDER BY 1 LIMIT {EXAMPLES}").all()
    return TableComparison(
        table=table,
        key=", ".join(columns) or "row",
        live_rows=live_rows,
        fresh_rows=fresh_rows,
        live_checksum=live_sum,
        fresh_checksum=fresh_sum,
        differences=int(count),
        examples=[Difference(r.key, r.kind) for r in rows],
    )


def _key_expression(columns: list[str]) -> str:
    """Rows pair up by primary key (or, without one, by their whole content)."""
    if not columns:
        return "t::text"
    if len(columns) == 1:
        return f"t.{quote(columns[0])}::text"
    return "ROW(" + ", ".join(f"t.{quote(c)}" for c in columns) + ")::text"


def _summary(conn: Connection, table: str) -> tuple[int, str]:
    """Row count and an order-independent checksum of every row's content."""
    row = conn.exec_driver_sql(
        "SELECT count(*), md5(coalesce(string_agg(h, '' ORDER BY h), ''))"  # noqa: S608
        f" FROM (SELECT md5(t::text) AS h FROM {table} t) r"
    ).one()
    return int(row[0]), str(row[1])
