"""What a task that drops the database would throw away, counted exactly, for its question.

The planner's estimate (pg_class.reltuples) is 0 or -1 for a table never analyzed, which
is every table a developer filled by hand a minute ago: "about 0 rows" above a yes/no
question is the wrong number at the worst moment. So each table is counted with
count(*), within one time budget, and the answer says plainly when it ran out.
"""

from __future__ import annotations

import time

import psycopg
from psycopg import sql

from checks.recovery.target import Target

BUDGET_S = 10.0  # for all the tables together
CAP = 10_000_000  # rows counted per table before "more than"

_TABLES = """
SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%%'
  AND n.nspname NOT LIKE 'pg\\_temp%%'
ORDER BY 1, 2
"""


def contents(target: Target, budget_s: float = BUDGET_S, cap: int = CAP) -> str:
    """'2 tables, 4 rows (public.items 3, public.alembic_version 1)', or what could be counted."""
    with target.connect() as conn:
        tables = conn.execute(_TABLES).fetchall()
        counted: list[tuple[str, int]] = []
        deadline = time.monotonic() + budget_s
        for schema, name in tables:
            left_ms = int((deadline - time.monotonic()) * 1000)
            if left_ms <= 0:
                break
            try:
                with conn.transaction():
                    conn.execute(sql.SQL("SET LOCAL statement_timeout = {}").format(left_ms))
                    rows = conn.execute(sql.SQL("SELECT count(*) FROM (SELECT FROM {} LIMIT {}) AS t").format(
                        sql.Identifier(schema, name), cap + 1)).fetchone()[0]
            except psycopg.errors.QueryCanceled:
                break
            counted.append((f"{schema}.{name}", rows))
    return _summary(len(tables), counted, budget_s, cap)


def _summary(tables: int, counted: list[tuple[str, int]], budget_s: float, cap: int) -> str:
    biggest = sorted(counted, key=lambda item: -item[1])[:5]
    listed = ", ".join(f"{name} {'more than ' + str(cap) if rows > cap else rows}" for name, rows in biggest)
    listed = f" ({listed}{', ...' if len(counted) > len(biggest) else ''})" if listed else ""
    total = sum(min(rows, cap) for _, rows in counted)
    many = "more than " if any(rows > cap for _, rows in counted) else ""
    what = f"{tables} table{'s' * (tables != 1)}"
    if len(counted) < tables:
        return (f"{what}, at least {total} row{'s' * (total != 1)} in the {len(counted)} counted; "
                f"counting took too long "
                f"(over {budget_s:g} s) for the other {tables - len(counted)}{listed}")
    return f"{what}, {many}{total} row{'s' * (total != 1)}{listed}"
