"""Dropping and recreating the target database, the one step no backup can undo by itself."""

from __future__ import annotations

import psycopg
from psycopg import sql

from checks.errors import ConfigError
from checks.recovery.database_state import (
    DatabaseState,
    add_extensions,
    apply_state,
    create_statement,
    read_state,
)
from checks.recovery.safety import other_sessions
from checks.recovery.target import Target
from harness.privileges import require_createdb
from harness.sessions import still_in_use, terminate


def recreate(target: Target, disconnect: bool = False) -> DatabaseState | None:
    """Drop the target (if it exists) and create it empty, with the owner, locale, grants,
    settings and comment it had; returns that state (its extensions are the caller's to
    add back, before or after what fills the database), or None if there was no database.

    Others still connected make this fail naming them, unless `disconnect` (the caller
    has shown them to the user and asked): only then are they terminated, and only those
    the role may signal. A role that could drop but not create is stopped before the drop.
    """
    target.require_application_database()
    name = sql.Identifier(target.name)
    with target.maintenance() as conn:
        require_createdb(conn, target.server)
    state = None
    if target.exists():
        with target.maintenance() as conn, target.connect() as database:
            state = read_state(conn, database, target.name)
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
        if state is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
            return None
        conn.execute(create_statement(conn, target.name, state))
        apply_state(conn, target.name, state)
    return state


def add_back_extensions(target: Target, state: DatabaseState | None, task: str, out) -> None:
    """The extensions the database had before `recreate`, once it is filled again; says which
    could not be made (a role that is no superuser may create trusted extensions only)."""
    if state is None:
        return
    with target.connect() as conn:
        failed = add_extensions(conn, state)
    for what in failed:
        name = what.split(" ", 1)[0]
        out.write(f"{task}: {target.describe()} had the extension {what}; as a superuser: invoke psql "
                  f"--command 'CREATE EXTENSION {name}'\n")
