"""What the role in a --url may do, checked before anything is created.

Most CI service databases hand out an ordinary role, not a superuser. The suite needs
one thing beyond what any role has: CREATEDB, to make its throwaway databases (it owns
them, so it may comment on, rename and drop them, and create trusted extensions in them).
A role without it is told so in one line before any stage runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.errors import ServerError

if TYPE_CHECKING:
    import psycopg

    from harness.server import Server


def cannot_create_databases(server: Server) -> str:
    user = server.endpoint.user
    return (f"the role {user} may not create databases on the {server.describe()}: grant it CREATEDB "
            f"(as a superuser: ALTER ROLE {user} CREATEDB), or give a --url whose role has it")


def require_createdb(conn: psycopg.Connection, server: Server) -> None:
    """Raise ServerError naming the missing privilege unless the role may create databases."""
    may = conn.execute("SELECT rolsuper OR rolcreatedb FROM pg_roles WHERE rolname = current_user").fetchone()
    if not (may and may[0]):
        raise ServerError(cannot_create_databases(server))


def cannot_create_extension(server: Server, extension: str) -> str:
    # Trusted extensions (pg_trgm, citext, hstore, ...) need only ownership of the database,
    # which the suite has; the others need a superuser. One that exists in template1 is in
    # every database the suite creates, and CREATE EXTENSION IF NOT EXISTS then asks nothing.
    user = server.endpoint.user
    return (f"the role {user} may not create the extension {extension!r} (it is not a trusted "
            f"extension, so only a superuser may): as a superuser, run CREATE EXTENSION {extension} "
            "in template1 (every new database then has it), or give a --url whose role is a superuser")
