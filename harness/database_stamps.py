"""Databases a run makes on a shared server (url backend): stamped, and swept once orphaned.

A run killed outright leaves its verify_<run id>_* databases behind on a server that is
not ours to throw away. Each one carries a comment naming its owner (host, pid and the
pid's start time, as JSON); the next url run drops those whose owner ran on this host
and is gone. A database without our stamp, with a live owner, or made on another host
is never touched.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql

from harness import sessions
from harness.errors import HarnessError
from harness.owner import owner_record, record_alive

if TYPE_CHECKING:
    from harness.server import Server

SUITE = "alembic-preflight"
NAME_PATTERN = r"verify\_%"  # Server.new_database_name's prefix, as a LIKE pattern


def stamp(record: dict | None = None) -> str:
    """The comment that marks a database as a run's: this process unless `record` says otherwise."""
    return json.dumps({"made_by": SUITE, **(record or owner_record())})


def stamp_database(server: Server, name: str, record: dict | None = None) -> None:
    """Mark a database this process just created as its own (or, given `record`, as that owner's)."""
    comment_database(server, name, stamp(record))


def comment_database(server: Server, name: str, comment: str) -> None:
    with server.connect() as conn:
        statement = sql.SQL("COMMENT ON DATABASE {} IS {}")
        conn.execute(statement.format(sql.Identifier(name), sql.Literal(comment)))


def _owner(comment: str | None) -> dict | None:
    try:
        record = json.loads(comment or "")
    except ValueError:
        return None
    return record if isinstance(record, dict) and record.get("made_by") == SUITE else None


def orphaned_databases(server: Server) -> list[str]:
    """Our databases on `server` whose owner ran on this host and is gone."""
    with server.connect() as conn:
        rows = conn.execute(
            "SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database "
            "WHERE datname LIKE %s ORDER BY datname", (NAME_PATTERN,)).fetchall()
    orphans = []
    for name, comment in rows:
        owner = _owner(comment)
        if owner is not None and record_alive(owner) is False:
            orphans.append(name)
    return orphans


def _held_by_others(server: Server, name: str) -> str:
    """Sessions of other roles in `name`, described; '' when there are none."""
    with server.connect() as conn:
        role = sessions.current_role(conn)
        return "; ".join(s.describe() for s in sessions.others(conn, name) if s.user != role)


def drop_orphaned_databases(server: Server) -> list[str]:
    """Drop every database of ours that a killed run left on `server`; returns their names."""
    dropped = []
    for name in orphaned_databases(server):
        held = _held_by_others(server, name)
        if held:
            # Only they can leave: waiting for them would hold up every run that finds it.
            print(f"alembic-preflight: left database {name} (a killed run's) in place: {held} is still "
                  "connected to it; once that session ends, the next run drops it", file=sys.stderr)
            continue
        # Its run is gone, so sessions of our role still in it (a killed run's query that has
        # not noticed yet) are ours to end, as in a database this run made.
        server.adopt(name)
        try:
            server.drop_database(name)
        except (psycopg.Error, HarnessError) as exc:  # another role's, or in use: it must not stop this run
            print(f"alembic-preflight: could not drop database {name}, left by a killed run: "
                  f"{str(exc).strip().splitlines()[0] if str(exc).strip() else exc}", file=sys.stderr)
        else:
            dropped.append(name)
    return dropped
