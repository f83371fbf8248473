"""Representative rows for every table, made from the catalog alone, and ways to compare them.

Real databases are never empty, and the migrations that only break on rows (a NOT NULL
column added without a default, a cast that rejects a value, a seed row that collides)
pass every check run on empty tables. One row per table is enough to trip them; the
values come from each column's type, foreign keys point at the parent's row, and columns
with a default, identity or generation expression are left to the database.

The recovery drills seed one row per table (`seed`); the rehearse stage fills tables with
as many as production holds, scaled down (`fill`, the same values numbered by a series).
Both stand on this module, which stands on neither.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

_TABLES = """
SELECT c.oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp%%'
  AND c.relname <> %s
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 2
"""
_COLUMNS = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '',
       COALESCE(NULLIF(t.typbasetype, 0), t.oid), bt.typtype, bt.typcategory, bt.typname
FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type bt ON bt.oid = COALESCE(NULLIF(t.typbasetype, 0), t.oid)
WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""
_FOREIGN_KEYS = """
SELECT (SELECT array_agg(attname ORDER BY k.i) FROM unnest(conkey) WITH ORDINALITY k(n, i)
        JOIN pg_attribute ON attrelid = conrelid AND attnum = k.n),
       confrelid::regclass::text,
       (SELECT array_agg(quote_ident(attname) ORDER BY k.i) FROM unnest(confkey) WITH ORDINALITY k(n, i)
        JOIN pg_attribute ON attrelid = confrelid AND attnum = k.n)
FROM pg_constraint WHERE contype = 'f' AND conrelid = %s
"""
_BY_NAME = {"uuid": "gen_random_uuid()", "json": "'{}'::json", "jsonb": "'{}'::jsonb",
            "bytea": "'\\x00'::bytea", "inet": "'127.0.0.1'::inet", "cidr": "'10.0.0.0/8'::cidr",
            "macaddr": "'08:00:2b:01:02:03'::macaddr", "xml": "'<seed/>'::xml", "money": "1::money",
            "tsvector": "'seed'::tsvector", "interval": "'1 day'::interval"}


def tables(conn: psycopg.Connection, version_table: str) -> list[str]:
    """Every application table, schema-qualified and quoted, the version table left out."""
    return [name for _oid, name in conn.execute(_TABLES, (version_table,)).fetchall()]


def _value(type_name: str, base_oid: int, typtype: str, category: str, base_name: str,
           n: int | str) -> str | None:
    """An SQL expression of the column's type, or None when no generic value fits. `n` is the
    row's number: a literal, or an SQL expression (a generate_series column) for many rows."""
    if typtype == "e":
        return (f"(SELECT enumlabel FROM pg_enum WHERE enumtypid = {base_oid} "
                f"ORDER BY enumsortorder LIMIT 1)::{type_name}")
    if base_name in _BY_NAME:
        return _BY_NAME[base_name] if type_name == base_name else f"{_BY_NAME[base_name]}::{type_name}"
    number = f"({n} % 32767)" if base_name == "int2" and not isinstance(n, int) else f"{n}"
    text = f"'seed {n}'" if isinstance(n, int) else f"('seed ' || {n})"
    simple = {"N": number, "S": text, "B": "true", "D": "now()", "A": "'{}'"}.get(category)
    return None if simple is None else f"{simple}::{type_name}"


def seed(conn: psycopg.Connection, version_table: str, n: int = 1) -> list[str]:
    """Give every empty table one row; returns the tables that could not take one.

    Parents are filled before children (repeated passes), so foreign keys find a row.
    `conn` must be in autocommit: each insert succeeds or fails on its own.
    """
    todo = {name: oid for oid, name in conn.execute(_TABLES, (version_table,)).fetchall()}
    todo = {name: oid for name, oid in todo.items() if not _has_rows(conn, name)}
    return _fill_all(conn, todo, lambda table, oid: _insert(conn, table, oid, n))


def fill(conn: psycopg.Connection, version_table: str, rows: dict[str, int]) -> list[str]:
    """Bulk mode: add `rows[table]` rows to each table named, each table in one INSERT ...
    SELECT over generate_series (the same values as `seed`'s, numbered by the series);
    returns the tables that could not take them. Foreign keys point at the parent's first
    row, so parents are filled first; `conn` must be in autocommit."""
    todo = {name: oid for oid, name in conn.execute(_TABLES, (version_table,)).fetchall()
            if rows.get(name, 0) > 0}
    return _fill_all(conn, todo, lambda table, oid: _insert(conn, table, oid, "g", rows[table]))


def _fill_all(conn: psycopg.Connection, todo: dict[str, int], insert) -> list[str]:
    for _ in range(len(todo) + 1):
        progress = False
        for name, oid in list(todo.items()):
            if insert(name, oid):
                del todo[name]
                progress = True
        if not progress:
            break
    return sorted(todo)


def _has_rows(conn: psycopg.Connection, table: str) -> bool:
    return conn.execute(sql.SQL("SELECT EXISTS (SELECT FROM {})").format(sql.SQL(table))).fetchone()[0]


def _insert(conn: psycopg.Connection, table: str, oid: int, n: int | str, count: int = 1) -> bool:
    """One row numbered `n`, or with `n` the series' column, `count` rows."""
    columns = conn.execute(_COLUMNS, (oid,)).fetchall()
    values: dict[str, str] = {}
    for fk_columns, parent, parent_columns in conn.execute(_FOREIGN_KEYS, (oid,)).fetchall():
        row = conn.execute(sql.SQL("SELECT {} FROM {} LIMIT 1").format(
            sql.SQL(", ".join(f"{c}::text" for c in parent_columns)), sql.SQL(parent))).fetchone()
        if row is None:
            if any(notnull for name, _t, notnull, *_ in columns if name in fk_columns):
                return False  # the parent is still empty: a later pass
            continue
        for column, value in zip(fk_columns, row, strict=True):
            values[column] = sql.Literal(value).as_string(conn) if value is not None else "NULL"
    full, required = {}, {}
    for name, type_name, notnull, defaulted, base_oid, typtype, category, base_name in columns:
        if name in values:
            expression = f"{values[name]}::{type_name}"
        elif defaulted:
            continue
        else:
            expression = _value(type_name, base_oid, typtype, category, base_name, n)
            if expression is None:
                if notnull:
                    return False
                continue
        full[name] = expression
        if notnull or name in values:
            required[name] = expression
    # Every column filled is the more telling row; CHECK constraints may only accept the minimum.
    return any(_try_insert(conn, table, chosen, None if isinstance(n, int) else (n, count))
               for chosen in (full, required))


def _try_insert(conn: psycopg.Connection, table: str, chosen: dict[str, str],
                series: tuple[str, int] | None = None) -> bool:
    """`series`: (its column's name, how many rows) for one row per number of a series."""
    if series is not None:
        column, count = series
        statement = sql.SQL("INSERT INTO {} ({}) SELECT {} FROM generate_series(1, {}) {}").format(
            sql.SQL(table), sql.SQL(", ").join(sql.Identifier(c) for c in chosen),
            sql.SQL(", ".join(chosen.values()) if chosen else ""), sql.Literal(count), sql.Identifier(column))
        if not chosen:  # every column defaulted: rows of defaults alone
            statement = sql.SQL("INSERT INTO {} SELECT FROM generate_series(1, {})").format(
                sql.SQL(table), sql.Literal(count))
    elif chosen:
        statement = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            sql.SQL(table), sql.SQL(", ").join(sql.Identifier(c) for c in chosen),
            sql.SQL(", ".join(chosen.values())))
    else:
        statement = sql.SQL("INSERT INTO {} DEFAULT VALUES").format(sql.SQL(table))
    try:
        conn.execute(statement)
    except psycopg.Error:
        return False
    return True


def counts(conn: psycopg.Connection, version_table: str) -> dict[str, int]:
    return {name: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.SQL(name))).fetchone()[0]
            for name in tables(conn, version_table)}


def contents(conn: psycopg.Connection, version_table: str) -> dict[str, list[str]]:
    """Every row of every table as text, sorted: equal contents mean equal data."""
    return {name: sorted(row[0] for row in conn.execute(
                sql.SQL("SELECT t::text FROM {} t").format(sql.SQL(name))).fetchall())
            for name in tables(conn, version_table)}


def lost(before: dict[str, int], after: dict[str, int]) -> list[str]:
    """Tables that still exist but hold fewer rows than before, as 'table (5 -> 3)'."""
    return [f"{name} ({count} -> {after[name]})" for name, count in sorted(before.items())
            if name in after and after[name] < count]
