"""What the rows of a database add up to: a count and a digest per table.

The round trip's split is only as good as the state its halves meet in. The worker walks
the lower revisions on a database built straight up to the split; one walk from head
would walk them on what the upper revisions' downgrades left. A row an upper downgrade
keeps (a seed it never deletes) changes what a lower re-upgrade meets (a NOT NULL column
added to a table that is no longer empty) without changing any schema. So the build
notes the rows at the split on its way up, and the round trip compares them with the
rows it finds there on its way down.

A row is read as JSON, keyed by column name: a column a downgrade added back comes last,
and the round trip's steps do not hold that against it (the schema diff ignores column
order), so neither may the rows.
"""

from __future__ import annotations

from checks.schema.queries import TRACKING_SCHEMA

# Every ordinary table but the catalogs', the suite's DDL log and the version table. No
# percent sign anywhere: a driver given no parameters may still read one as a placeholder.
_TABLES = f"""
SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND c.relpersistence <> 't'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', '{TRACKING_SCHEMA}')
  AND left(n.nspname, 8) <> 'pg_toast' AND c.relname <> '{{version_table}}'
ORDER BY 1
"""


def fingerprint(connection, version_table: str) -> tuple[tuple[str, int, str], ...]:
    """(table, rows, md5 of its rows in a stable order, whatever the order of its columns)
    per table, through any connection
    with `exec_driver_sql` (the migration's own, inside its transaction) or `execute`."""
    return _per_table(connection, version_table, "count(*), "
                      "md5(coalesce(string_agg(to_jsonb(t)::text, ',' ORDER BY to_jsonb(t)::text), ''))")


def counts(connection, version_table: str) -> dict[str, int]:
    """Rows per table: what two databases built in different orders must agree on (their
    values may not: a default of now(), the ids a sequence handed out)."""
    return dict(_per_table(connection, version_table, "count(*)"))


def _per_table(connection, version_table: str, columns: str) -> tuple[tuple, ...]:
    run = getattr(connection, "exec_driver_sql", None) or connection.execute
    quoted = version_table.replace("'", "''")
    tables = [row[0] for row in run(_TABLES.replace("{version_table}", quoted)).fetchall()]
    if not tables:
        return ()
    query = " UNION ALL ".join(f"SELECT '{table.replace(chr(39), chr(39) * 2)}', {columns} FROM {table} t"
                               for table in tables)
    # Sorted here: a UNION ALL of many tables may be run as a parallel append, whose rows
    # come in whatever order its workers finish.
    return tuple(sorted(tuple(row) for row in run(query).fetchall()))
