"""What the diagnosed database holds: its version rows and its schema, read in one
read-only transaction so both describe the same moment."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from checks.errors import ConfigError
from checks.schema import Snapshot, take_snapshot


@dataclass
class LiveState:
    versions: tuple[str, ...] | None  # None: the database has no version table at all
    snapshot: Snapshot
    version_table: str  # as displayed, schema-qualified when not public


def read_live(conn: psycopg.Connection, version_table: str, version_schema: str | None) -> LiveState:
    qualified = sql.Identifier(version_schema, version_table) if version_schema \
        else sql.Identifier(version_table)
    shown = f"{version_schema}.{version_table}" if version_schema else version_table
    try:
        return _read(conn, qualified, shown, version_table)
    except psycopg.Error as exc:
        what = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"cannot read the database: {what}; doctor needs CONNECT on it, USAGE on its "
                          f"schemas and SELECT on {shown}") from None


def _read(conn: psycopg.Connection, qualified: sql.Identifier, shown: str, version_table: str) -> LiveState:
    with conn.transaction():
        found = conn.execute("SELECT to_regclass(%s)", [qualified.as_string(conn)]).fetchone()[0]
        versions = None
        if found is not None:
            rows = conn.execute(sql.SQL("SELECT version_num FROM {}").format(qualified)).fetchall()
            versions = tuple(sorted(row[0] for row in rows))
        snapshot = take_snapshot(conn, version_table=version_table)
    return LiveState(versions, snapshot, shown)
