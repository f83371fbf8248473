"""Dropping and recreating the target database, the one step no backup can undo by itself."""

from __future__ import annotations

from psycopg import sql

from checks.errors import ConfigError
from checks.recovery.safety import other_sessions
from checks.recovery.target import Target


def recreate(target: Target, disconnect: bool = False) -> None:
    """Drop the target (if it exists) and create it empty.

    Others still connected make this fail naming them, unless `disconnect` (the caller
    has shown them to the user and asked): only then WITH (FORCE) is used.
    """
    target.require_application_database()
    name = sql.Identifier(target.name)
    if target.exists():
        sessions = other_sessions(target)
        if sessions and not disconnect:
            who = ", ".join(f"pid {pid} ({user}, {app or '-'})" for pid, user, app, _c, _s in sessions)
            raise ConfigError(f"{target.name} is in use by {who}; close those sessions first")
        force = sql.SQL(" WITH (FORCE)") if sessions else sql.SQL("")
        with target.maintenance() as conn:
            conn.execute(sql.SQL("DROP DATABASE {}{}").format(name, force))
    with target.maintenance() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
