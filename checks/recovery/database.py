"""Dropping and recreating the target database, the one step no backup can undo by itself."""

from __future__ import annotations

import psycopg
from psycopg import sql

from checks.errors import ConfigError
from checks.recovery.safety import other_sessions
from checks.recovery.target import Target
from harness.privileges import require_createdb
from harness.sessions import still_in_use, terminate


def recreate(target: Target, disconnect: bool = False) -> None:
    """Drop the target (if it exists) and create it empty.

    Others still connected make this fail naming them, unless `disconnect` (the caller
    has shown them to the user and asked): only then are they terminated, and only those
    the role may signal. A role that could drop but not create is stopped before the drop.
    """
    target.require_application_database()
    name = sql.Identifier(target.name)
    with target.maintenance() as conn:
        require_createdb(conn, target.server)
    if target.exists():
        sessions = other_sessions(target)
        if sessions and not disconnect:
            who = ", ".join(s.describe() for s in sessions)
            raise ConfigError(f"{target.name} is in use by {who}; close those sessions first")
        with target.maintenance() as conn:
            terminate(conn, sessions, target.name)
            try:
                with still_in_use(target.name):
                    conn.execute(sql.SQL("DROP DATABASE {}").format(name))
            except psycopg.errors.InsufficientPrivilege:
                raise ConfigError(f"the role {target.server.endpoint.user} may not drop {target.name}: only "
                                  "its owner or a superuser may; run as the owner (the role that created "
                                  "it)") from None
    with target.maintenance() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
