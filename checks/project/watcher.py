"""What a migration's database session is waiting for, read through a second connection.

A revision that hangs is nearly always waiting: on a lock another session holds (an open
transaction in an app or a forgotten psql), on a long statement (a backfill, pg_sleep), or
on its own Python code while its session sits idle. PostgreSQL knows which:
pg_stat_activity has the session's state and wait event, pg_blocking_pids() the sessions in
its way, pg_locks the object it asked for. The watcher reads them on a connection of its
own, in autocommit and with short timeouts, so that looking never waits behind the very
locks it reports; any error just means there is nothing to say this time.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import psycopg

from harness.server import Endpoint

QUERY_CHARS = 160
_OPTIONS = "-c statement_timeout=5000 -c lock_timeout=1000"
_KINDS = {"r": "table", "p": "table", "i": "index", "I": "index", "S": "sequence", "v": "view",
          "m": "materialized view", "f": "foreign table", "t": "TOAST table"}


@dataclass
class Holder:
    """A session in the way: who it is, what it last ran, and since when it holds on."""

    pid: int
    state: str | None
    query: str
    application: str
    since: str | None  # "19:40:01 UTC", when its transaction (else its state) began
    seconds: float | None

    def describe(self) -> str:
        who = f"pid {self.pid}" + (f" ({self.application})" if self.application else "")
        since = (f", transaction open since {self.since} ({self.seconds:.0f} s)"
                 if self.since and self.seconds is not None else "")
        query = _one_line(self.query)
        return f"{who}, {self.state or 'state unknown'}{since}" + (f", last query: {query}" if query else "")


@dataclass
class Wait:
    """What the migration's session is doing right now."""

    state: str | None  # None: the session is gone
    wait_event: str | None  # "Lock/relation", "Timeout/PgSleep"
    query: str
    lock: str | None = None  # "AccessExclusiveLock on table items"
    holders: list[Holder] = field(default_factory=list)
    # An idle session's: another session of the database waiting for a lock this one holds,
    # and that lock ("AccessShareLock on table items"). Most often the revision's own second
    # connection, which can never get it: the migration waits for that connection to finish.
    blocked: Holder | None = None
    blocked_on: str | None = None

    @property
    def cancellable(self) -> bool:
        """A statement is running: pg_cancel_backend ends it. An idle session has none."""
        return self.state == "active"

    def describe(self) -> str:
        """What it is doing, as a phrase that follows "it was" (or stands alone)."""
        if self.lock or self.holders:
            held = "; ".join(h.describe() for h in self.holders) or "a session that has since gone"
            return f"waiting for {self.lock or 'a lock'} held by {held}"
        if self.state is None:
            return "without a database session (it ended)"
        if self.blocked is not None and self.state != "active":
            return (f"waiting on a connection of the revision's own: {self.blocked.describe()} waits for "
                    f"{self.blocked_on or 'a lock'} that the migration's own transaction holds, so neither "
                    "can go on")
        if self.state == "active":
            waiting = f" (waiting on {self.wait_event})" if self.wait_event else ""
            return f"running {_one_line(self.query)}{waiting}"
        return (f"not in the database (its session is {self.state}): the time goes to the revision's "
                "Python code, or to a connection of its own")


class LockWatcher:
    """A connection of the suite's own to the migrated database, opened on first use."""

    def __init__(self, endpoint: Endpoint, database: str) -> None:
        self._conninfo = endpoint.conninfo(database)
        self._conn: psycopg.Connection | None = None

    def describe(self, pid: int) -> Wait | None:
        try:
            return self._describe(self._connection(), pid)
        except psycopg.Error:
            self.close()  # reconnect next time; meanwhile, nothing to say
            return None

    def waiting(self) -> int | None:
        """A session of this database (not ours) waiting for a lock: where an env.py that has
        not yet handed Alembic its connection is stuck, if it is stuck in the database."""
        try:
            row = self._connection().execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid() "
                "ORDER BY backend_start DESC LIMIT 1").fetchone()
        except psycopg.Error:
            self.close()
            return None
        return row[0] if row else None

    def cancel(self, pid: int) -> bool:
        return self._signal("pg_cancel_backend", pid)

    def terminate(self, pid: int) -> bool:
        return self._signal("pg_terminate_backend", pid)

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(psycopg.Error):
                conn.close()

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self._conninfo, autocommit=True, options=_OPTIONS,
                                         application_name="alembic-preflight watcher")
        return self._conn

    def _signal(self, function: str, pid: int) -> bool:
        try:
            row = self._connection().execute(f"SELECT {function}(%s)", (pid,)).fetchone()
        except psycopg.Error:
            self.close()
            return False
        return bool(row and row[0])

    @staticmethod
    def _describe(conn: psycopg.Connection, pid: int) -> Wait:
        row = conn.execute("SELECT state, wait_event_type || '/' || wait_event, query "
                           "FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
        if row is None:
            return Wait(None, None, "")
        wait = Wait(row[0], row[1], row[2] or "")
        wait.lock = _awaited(conn, pid)
        wait.holders = [Holder(*found) for found in conn.execute(
            _SESSIONS + "WHERE pid = ANY(pg_blocking_pids(%s)) ORDER BY pid", (QUERY_CHARS * 2, pid))]
        if wait.lock is None and wait.state != "active":
            # Idle in its transaction: maybe behind a session that waits for it.
            blocked = conn.execute(_SESSIONS + "WHERE %s = ANY(pg_blocking_pids(pid)) "
                                   "ORDER BY backend_start DESC LIMIT 1", (QUERY_CHARS * 2, pid)).fetchone()
            if blocked is not None:
                wait.blocked, wait.blocked_on = Holder(*blocked), _awaited(conn, blocked[0])
        return wait


# Who a session is, for Holder: pid, state, query, application, since when, for how long.
_SESSIONS = (
    "SELECT pid, state, left(query, %s), coalesce(application_name, ''), "
    "to_char(coalesce(xact_start, state_change) AT TIME ZONE 'UTC', 'HH24:MI:SS \"UTC\"'), "
    "extract(epoch FROM clock_timestamp() - coalesce(xact_start, state_change))::float "
    "FROM pg_stat_activity ")


def _awaited(conn: psycopg.Connection, pid: int) -> str | None:
    """The lock `pid` waits for, in words, or None."""
    lock = conn.execute(
        "SELECT l.mode, l.locktype, l.relation::regclass::text, c.relkind::text, l.classid, l.objid, "
        "l.objsubid, l.transactionid::text "
        "FROM pg_locks l LEFT JOIN pg_class c ON c.oid = l.relation "
        "WHERE l.pid = %s AND NOT l.granted LIMIT 1", (pid,)).fetchone()
    return _lock_text(*lock) if lock is not None else None


def _lock_text(mode: str, locktype: str, relation: str | None, relkind: str | None, classid: int | None,
               objid: int | None, objsubid: int | None, xid: str | None) -> str:
    if relation:
        kind = _KINDS.get(relkind or "", "relation")
        where = f"a row of {kind} {relation}" if locktype == "tuple" else f"{kind} {relation}"
        return f"{mode} on {where}"
    if locktype == "advisory":
        key = (classid << 32 | objid) if objsubid == 1 else f"({classid}, {objid})"
        return f"advisory lock {key}"
    if locktype == "transactionid":
        return f"{mode} on transaction {xid} (a row that transaction changed or locked)"
    if locktype == "virtualxid":
        return f"{mode} on a virtual transaction (older transactions must end first)"
    return f"{mode} on a {locktype} lock"


def _one_line(query: str) -> str:
    text = " ".join(query.split())
    return text if len(text) <= QUERY_CHARS else text[:QUERY_CHARS - 3] + "..."
