"""What a database holds beyond its schema, kept across the drop and create of reset-db and restore.

Its owner, encoding and collation, connection limit, grants (`GRANT CONNECT ON DATABASE`),
`ALTER DATABASE ... SET` and `ALTER ROLE ... IN DATABASE ... SET` settings, its comment and
its extensions live in the shared catalogs or are made by a superuser once: a dump without
--create does not carry them and the migrations do not make them, so a plain DROP and
CREATE would reset them silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

# Settings whose value is a list of names: each element is quoted on its own, as pg_dump does.
_LIST_SETTINGS = frozenset({"search_path", "temp_tablespaces", "session_preload_libraries",
                            "shared_preload_libraries", "local_preload_libraries",
                            "unix_socket_directories"})
_LIST_ELEMENT = re.compile(r'\s*(?:"((?:[^"]|"")*)"|([^,]+?))\s*(?:,|$)')


@dataclass
class DatabaseState:
    owner: str
    options: dict  # the pg_database row, as JSON: whichever locale columns this major has
    grants: list[tuple[str | None, str, bool]] | None  # (grantee, privilege, grantable); None: defaults
    settings: list[tuple[str | None, list[str]]] = field(default_factory=list)  # (role, ["k=v", ...])
    comment: str | None = None
    extensions: list[tuple[str, str, str]] = field(default_factory=list)  # (name, schema, version)


def read_state(maintenance: psycopg.Connection, database: psycopg.Connection, name: str) -> DatabaseState:
    """The state of `name`, from a connection to the server and one to the database itself."""
    row = maintenance.execute(
        "SELECT pg_get_userbyid(d.datdba), to_jsonb(d) - 'datacl', d.datacl IS NULL, "
        "shobj_description(d.oid, 'pg_database') FROM pg_database d WHERE datname = %s", (name,)).fetchone()
    owner, options, default_acl, comment = row
    grants = None if default_acl else [
        (None if grantee == 0 else role, privilege, grantable)
        for grantee, role, privilege, grantable in maintenance.execute(
            "SELECT a.grantee, pg_get_userbyid(a.grantee), a.privilege_type, a.is_grantable "
            "FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = %s ORDER BY 1, 3", (name,))]
    settings = maintenance.execute(
        "SELECT CASE WHEN s.setrole = 0 THEN NULL ELSE pg_get_userbyid(s.setrole) END, s.setconfig "
        "FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = %s "
        "ORDER BY s.setrole", (name,)).fetchall()
    extensions = database.execute(
        "SELECT e.extname, n.nspname, e.extversion FROM pg_extension e "
        "JOIN pg_namespace n ON n.oid = e.extnamespace ORDER BY e.oid").fetchall()
    return DatabaseState(owner, options, grants, [(r, list(c)) for r, c in settings], comment, extensions)


def create_statement(conn: psycopg.Connection, name: str, state: DatabaseState) -> sql.Composed:
    """CREATE DATABASE with the old owner, and its locale where it is not template1's."""
    parts = [sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(state.owner))]
    template = conn.execute("SELECT to_jsonb(d) FROM pg_database d WHERE datname = 'template1'").fetchone()[0]
    locale = ("encoding", "datcollate", "datctype", "datlocprovider", "daticulocale", "datlocale",
              "daticurules")
    if any(state.options.get(key) != template.get(key) for key in locale):
        encoding = conn.execute("SELECT pg_encoding_to_char(%s)", (state.options["encoding"],)).fetchone()[0]
        parts.append(sql.SQL("TEMPLATE template0 ENCODING {} LC_COLLATE {} LC_CTYPE {}").format(
            encoding, state.options["datcollate"], state.options["datctype"]))
        provider = {"i": "icu", "b": "builtin"}.get(state.options.get("datlocprovider"))
        if provider:
            locale_name = state.options.get("datlocale") or state.options.get("daticulocale")
            key = "ICU_LOCALE" if provider == "icu" else "BUILTIN_LOCALE"
            parts.append(sql.SQL("LOCALE_PROVIDER {} " + key + " {}").format(
                sql.SQL(provider), locale_name))
    if state.options.get("datconnlimit", -1) != -1:
        parts.append(sql.SQL("CONNECTION LIMIT {}").format(state.options["datconnlimit"]))
    return sql.SQL(" ").join(parts)


def apply_state(conn: psycopg.Connection, name: str, state: DatabaseState) -> None:
    """The grants, settings and comment of `state` on the new database `name` (from the server)."""
    database = sql.Identifier(name)
    if state.grants is not None:
        # From the defaults (owner: all, PUBLIC: CONNECT and TEMPORARY) to exactly the old list.
        for role in (sql.SQL("PUBLIC"), sql.Identifier(state.owner)):
            conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM {}").format(database, role))
        for grantee, privilege, grantable in state.grants:
            to = sql.SQL("PUBLIC") if grantee is None else sql.Identifier(grantee)
            conn.execute(sql.SQL("GRANT {} ON DATABASE {} TO {}{}").format(
                sql.SQL(privilege), database, to, sql.SQL(" WITH GRANT OPTION" if grantable else "")))
    for role, config in state.settings:
        alter = sql.SQL("ALTER DATABASE {}").format(database) if role is None else \
            sql.SQL("ALTER ROLE {} IN DATABASE {}").format(sql.Identifier(role), database)
        for item in config:
            key, _, value = item.partition("=")
            conn.execute(sql.SQL("{} SET {} TO {}").format(alter, sql.Identifier(key), _value(key, value)))
    if state.comment is not None:
        conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(database, state.comment))


def _value(key: str, value: str) -> sql.Composable:
    if key.lower() not in _LIST_SETTINGS:
        return sql.Literal(value)
    elements = [m.group(1).replace('""', '"') if m.group(1) is not None else m.group(2)
                for m in _LIST_ELEMENT.finditer(value) if m.group(1) is not None or m.group(2)]
    return sql.SQL(", ").join(sql.Literal(e) for e in elements)


def add_extensions(conn: psycopg.Connection, state: DatabaseState) -> list[str]:
    """Create the extensions `state` had that the database lacks, each in its old schema
    (where that schema exists); returns the ones that could not be, each with why."""
    have = {row[0] for row in conn.execute("SELECT extname FROM pg_extension")}
    schemas = {row[0] for row in conn.execute("SELECT nspname FROM pg_namespace")}
    failed = []
    for name, schema, version in state.extensions:
        if name in have:
            continue
        if schema not in schemas:
            failed.append(f"{name} (its schema {schema} does not exist)")
            continue
        try:
            with conn.transaction():
                conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {} VERSION {} CASCADE")
                             .format(sql.Identifier(name), sql.Identifier(schema), version))
            have |= {row[0] for row in conn.execute("SELECT extname FROM pg_extension")}
        except psycopg.Error as exc:
            failed.append(f"{name} ({str(exc).strip().splitlines()[0]})")
    return failed
