"""Who else is connected to a database about to be cloned, renamed or dropped, and what may be done.

PostgreSQL refuses CREATE DATABASE ... TEMPLATE, ALTER DATABASE ... RENAME and DROP DATABASE
while another session is connected. It stops autovacuum workers by itself and waits up to
five seconds for the rest. What can still be in the way:

- a session of the previous step that is still closing: the client has hung up, the
  server process has not exited yet, and pg_stat_activity still lists it for a moment;
- an engine the project's env.py left open (same role, a database this run created);
- somebody else's session.

Only the second kind is ever terminated (the first with it, which loses nothing). Signalling
anything else needs privileges an ordinary CI role lacks (a role-less autovacuum worker counts
as a superuser's process: "must be a superuser to terminate superuser process"), and on a
shared server the rest is not ours to cut off. So: terminate our own role's sessions in our
own databases, give everyone else time to leave, and name whoever stays.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import psycopg

from harness.errors import DatabaseInUse, ServerError

APPLICATION = "alembic-preflight"  # application_name prefix of every connection the harness opens
LEAVING_S = 2.0  # how long a session of the previous step may take to finish closing
WAIT_S = 10.0  # how long anyone else gets before the clone, rename or drop gives up


@dataclass(frozen=True)
class Session:
    pid: int
    user: str | None
    application: str
    client: str
    state: str | None

    def describe(self) -> str:
        state = f", {self.state}" if self.state else ""  # hidden from a role that is not the session's
        return f"pid {self.pid} (user {self.user}, application {self.application or '-'}{state})"


def others(conn: psycopg.Connection, database: str) -> list[Session]:
    """Client sessions on `database` other than `conn`'s own.

    Background processes (autovacuum workers, above all) are left out: PostgreSQL stops
    them itself before a clone or drop, and no ordinary role may signal them.
    """
    # An ordinary role sees another role's sessions with most columns NULL (backend_type and
    # state too), but with their role; autovacuum workers have none.
    rows = conn.execute(
        "SELECT pid, usename, application_name, COALESCE(host(client_addr), 'local socket'), state "
        "FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() AND usesysid IS NOT NULL "
        "AND COALESCE(backend_type, 'client backend') = 'client backend' ORDER BY pid",
        (database,)).fetchall()
    return [Session(*row) for row in rows]


def settled(conn: psycopg.Connection, database: str, seconds: float = LEAVING_S) -> list[Session]:
    """The sessions still on `database` once those that are closing have had `seconds` to go."""
    deadline = time.monotonic() + seconds
    while True:
        sessions = others(conn, database)
        if not sessions or time.monotonic() >= deadline:
            return sessions
        time.sleep(0.02)


# pg_terminate_backend's own rule: a superuser may signal anyone; others, a session whose role is
# not a superuser and whose privileges they have (or pg_signal_backend's).
_FORBIDDEN = """
    SELECT a.pid FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid
    WHERE a.pid = ANY(%s) AND NOT (
        (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
        OR (r.rolsuper IS FALSE AND (pg_has_role(a.usesysid, 'USAGE')
                                     OR pg_has_role('pg_signal_backend', 'USAGE'))))
"""


def terminate(conn: psycopg.Connection, sessions: list[Session], database: str) -> None:
    """Disconnect `sessions` (already shown to the user or known to be ours), then wait for them.

    A session the connected role may not signal is named in one line with what would allow it.
    """
    if not sessions:
        return
    # Checked for all before any is cut off: a refusal halfway would disconnect some for nothing.
    forbidden = {r[0] for r in conn.execute(_FORBIDDEN, ([s.pid for s in sessions],))}
    refused = [s for s in sessions if s.pid in forbidden]
    if refused:
        raise _refusal(conn, refused[0], database)
    for session in sessions:
        try:
            conn.execute("SELECT pg_terminate_backend(%s)", (session.pid,))
        except psycopg.errors.InsufficientPrivilege:
            raise _refusal(conn, session, database) from None
    gone = {s.pid for s in sessions}
    deadline = time.monotonic() + WAIT_S
    while any(s.pid in gone for s in others(conn, database)) and time.monotonic() < deadline:
        time.sleep(0.02)


def _refusal(conn: psycopg.Connection, session: Session, database: str) -> ServerError:
    return ServerError(
        f"the role {current_role(conn)} may not disconnect {session.describe()} from {database}: only "
        "a superuser or a member of that session's role (or of pg_signal_backend) may; ask its owner "
        "to close it, then run again")


def release(conn: psycopg.Connection, database: str, created_by_us: bool, wait_s: float = WAIT_S) -> None:
    """Return once nobody else is connected to `database`, or raise ServerError naming who is.

    Sessions of our own role are terminated, and only in a database this run created: its
    name is unique to the run, so any session of ours in it is the project's or ours (one
    still closing loses nothing). Everyone else gets `wait_s` to leave.
    """
    role = current_role(conn)
    if created_by_us:
        terminate(conn, [s for s in others(conn, database) if s.user == role], database)
    remaining = settled(conn, database, wait_s)
    if remaining:
        who = "; ".join(s.describe() for s in remaining)
        raise DatabaseInUse(
            f"database {database} is still in use by {who}; alembic-preflight disconnects only sessions "
            f"of its own role ({role}) in databases it created: close those sessions and run again")


@contextlib.contextmanager
def still_in_use(database: str):
    """Someone connected between our check and the statement: say so in one line."""
    try:
        yield
    except psycopg.errors.ObjectInUse as exc:
        detail = exc.diag.message_detail or "another session"
        raise DatabaseInUse(f"database {database} is in use ({detail}); close those sessions and "
                          "run again") from None


def current_role(conn: psycopg.Connection) -> str:
    return conn.execute("SELECT current_user").fetchone()[0]


def wait_for_creation(conn: psycopg.Connection, database: str, wait_s: float = WAIT_S) -> None:
    """Let a CREATE DATABASE of `database` that one of our role's sessions still runs finish.
    A client killed while its CREATE DATABASE ran (a worker stopped with the run) leaves a
    server process that completes it regardless, and commits it after a DROP sent meanwhile
    found nothing to drop."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND usename = current_user "
            "AND state = 'active' AND query ILIKE 'CREATE DATABASE%%' AND strpos(query, %s) > 0",
            (f'"{database}"',)).fetchone()[0]:
        time.sleep(0.02)
