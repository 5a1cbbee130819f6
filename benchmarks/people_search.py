"""EXPLAIN ANALYZE of the people search filters on a large read table.

Fills the ``people`` read table of a fresh database directly (this measures
the query, not the write path): one heavy user with --heavy people and
--others people spread over 1,000 other users, then prints the plan and the
execution time of each filter `GET /api/v1/people` can send, run as the API runs
it (role ``pcem_api``, under row-level security).

Usage: .venv/bin/python benchmarks/people_search.py [--heavy 50000] [--others 200000]
"""

from __future__ import annotations

import argparse
import base64
import os
from typing import Any

import psycopg
from fresh import fresh_database  # benchmarks/fresh.py
from machine import describe  # benchmarks/machine.py (scripts run from this folder)
from sqlalchemy import create_engine

from pcem.database.row_security import AsUserSync  # the API's role and user
from pcem.migrate import migrate
from pcem.projections.people_view import PeopleFilter, conditions  # PeopleView's own SQL
from pcem.settings import load_settings

ADMIN_URL = os.environ.get("PCEM_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

FILL = """
INSERT INTO people (id, user_id, first_name, last_name, primary_contact, metadata,
                    version, created_at, updated_at)
SELECT gen_random_uuid(), %(user)s || CASE WHEN %(spread)s THEN (i %% 1000)::text ELSE '' END,
       'First' || i, 'Last' || (i %% 5000), 'p' || i || '@example.org',
       jsonb_build_object(
           'favorite_book', 'Book ' || (i %% 300),
           'kids', jsonb_build_object('school', 'School ' || (i %% 400), 'count', i %% 4),
           'tags', jsonb_build_array('t' || (i %% 50), 't' || (i %% 7))
       ) || CASE WHEN i %% 100 = 0 THEN '{"linkedin_url": "https://in.example"}'::jsonb
                 ELSE '{}'::jsonb END,
       1, now(), now()
FROM generate_series(1, %(n)s) AS i
"""

FILTERS: dict[str, PeopleFilter] = {
    "has_key=linkedin_url (1% of rows)": PeopleFilter(has_keys=("linkedin_url",)),
    'meta={"kids":{"school":"School 7"}}': PeopleFilter(meta={"kids": {"school": "School 7"}}),
    'meta={"tags":["t3"]}': PeopleFilter(meta={"tags": ["t3"]}),
    "q=book 29 (a common word)": PeopleFilter(q="book 29"),
    "q=p49999@ (a rare word: scans all the user's rows)": PeopleFilter(q="p49999@"),
    "no filter (first page)": PeopleFilter(),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heavy", type=int, default=50_000, help="people of the one heavy user")
    parser.add_argument("--others", type=int, default=200_000, help="people of 1,000 other users")
    args = parser.parse_args()
    print(describe(), flush=True)
    with fresh_database(ADMIN_URL) as url:
        run(url, args.heavy, args.others)


def run(url: str, heavy: int, others: int) -> None:
    settings = load_settings(
        {"PCEM_DATABASE_URL": url, "PCEM_MASTER_KEY": base64.b64encode(os.urandom(32)).decode()}
    )
    migrate(settings.require_database())
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(FILL, {"user": "heavy", "spread": False, "n": heavy})
        conn.execute(FILL, {"user": "user-", "spread": True, "n": others})
        conn.execute("ANALYZE people")
    print(f"people rows: {heavy + others:,} ({heavy:,} belong to the user searching)\n")
    engine = create_engine(settings.require_database().sqlalchemy_url)
    for label, search in FILTERS.items():
        print(f"== {label}")
        print(explain(engine, search))
    engine.dispose()


def explain(engine: Any, search: PeopleFilter) -> str:
    """The plan as the API runs it: as ``pcem_api``, under row-level security."""
    where, params = conditions("heavy", search, None)
    query = (
        "EXPLAIN (ANALYZE, COSTS OFF, SUMMARY ON)"
        f" SELECT id FROM people WHERE {' AND '.join(where)}"
        " ORDER BY last_name, first_name, id LIMIT 51"
    )
    [rows] = AsUserSync(engine).fetchall("heavy", (query, params))
    return "\n".join(row[0] for row in rows) + "\n"


if __name__ == "__main__":
    main()
