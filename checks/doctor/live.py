"""What the diagnosed database holds: its version rows and its schema, read in one
read-only transaction so both describe the same moment."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from checks.doctor.target import LOCK_TIMEOUT_S
from checks.errors import ConfigError
from checks.recovery.target_url import place
from checks.schema import Snapshot, take_snapshot
from checks.schema.scope import Scope, narrow

# A live database's grants are its own: the read-only role, the reporting tool's, the
# team's, made for that server by whoever runs it, under names no throwaway server has.
# Its schema is compared with the migrations' without them.
_WITHOUT_GRANTS = Scope(left_out=frozenset({"privileges"}))


def without_grants(snap: Snapshot) -> Snapshot:
    return narrow(snap, _WITHOUT_GRANTS)


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
    except psycopg.errors.LockNotAvailable:
        where = place(conn.info.dbname, conn.info.host, conn.info.port)
        raise ConfigError(f"cannot read {where}: lock timeout ({LOCK_TIMEOUT_S:g} s) waiting for "
                          f"{_holders(conn)}; let that transaction finish (commit or roll back), then run "
                          "doctor again") from None
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


# Reading takes ACCESS SHARE locks, which only ACCESS EXCLUSIVE (ALTER, DROP, LOCK TABLE,
# VACUUM FULL, a migration mid-way) blocks.
_HOLDERS = """
SELECT l.pid, COALESCE(a.usename, '?'), COALESCE(NULLIF(a.application_name, ''), '-'),
       l.relation::regclass::text, COALESCE(a.state, '?'),
       COALESCE(to_char(a.xact_start, 'YYYY-MM-DD HH24:MI:SS TZ'), '?')
FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.granted AND l.pid <> pg_backend_pid() AND l.locktype = 'relation'
  AND l.mode = 'AccessExclusiveLock'
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY a.xact_start, l.pid
"""


def _holders(conn: psycopg.Connection) -> str:
    """'pid 123 (role app, application nightly, idle in transaction since ...) holding an
    ACCESS EXCLUSIVE lock on public.items', for each session in the way."""
    try:
        conn.rollback()
        rows = conn.execute(_HOLDERS).fetchall()
        conn.rollback()
    except psycopg.Error:
        return "a lock another session holds (pg_locks could not be read)"
    if not rows:
        return "a lock another session held and has released since"
    held: dict[tuple, list[str]] = {}
    for pid, role, application, relation, state, since in rows:
        held.setdefault((pid, role, application, state, since), []).append(relation)
    return "; ".join(f"pid {pid} (role {role}, application {application}, {state} since {since}) holding "
                     f"an ACCESS EXCLUSIVE lock on {', '.join(relations)}"
                     for (pid, role, application, state, since), relations in held.items())
