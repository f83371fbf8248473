"""The DDL log behind incremental snapshots: event triggers that record what each command touched.

Installed only on the suite's own throwaway databases, and removed from the migrated
database before anything clones it, so no drill, dump or later stage ever sees it.
Event triggers need a superuser; without one, snapshots stay full (and slower).
"""

from __future__ import annotations

from checks.schema import prepared
from checks.schema.queries import TRACKING_SCHEMA as SCHEMA

_TRIGGERS = ("alembic_preflight_ddl_end", "alembic_preflight_sql_drop")
# Prepares the snapshot's statements on the session that calls it (checks.schema.prepared).
PREPARE_FUNCTION = f"{SCHEMA}.prepare_missing"

# A command the log function cannot describe still leaves a row (its tag alone), so the
# snapshot after it knows to read everything.
_INSTALL = f"""
CREATE SCHEMA {SCHEMA};
CREATE TABLE {SCHEMA}.touched (
    id bigserial PRIMARY KEY,
    dropped boolean NOT NULL,
    classid oid,
    objid oid,
    object_type text,
    command_tag text,
    names text[]
);
CREATE FUNCTION {SCHEMA}.on_ddl() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog AS $$
BEGIN
    INSERT INTO {SCHEMA}.touched (dropped, classid, objid, object_type, command_tag)
    SELECT false, classid, objid, object_type, command_tag FROM pg_event_trigger_ddl_commands();
    IF NOT FOUND THEN
        INSERT INTO {SCHEMA}.touched (dropped, command_tag) VALUES (false, tg_tag);
    END IF;
END $$;
CREATE FUNCTION {SCHEMA}.on_drop() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog AS $$
BEGIN
    INSERT INTO {SCHEMA}.touched (dropped, classid, objid, object_type, command_tag, names)
    SELECT true, classid, objid, object_type, tg_tag, address_names FROM pg_event_trigger_dropped_objects();
END $$;
"""
# Last, so that the log starts empty.
_START = f"""
CREATE EVENT TRIGGER {_TRIGGERS[0]} ON ddl_command_end EXECUTE FUNCTION {SCHEMA}.on_ddl();
CREATE EVENT TRIGGER {_TRIGGERS[1]} ON sql_drop EXECUTE FUNCTION {SCHEMA}.on_drop();
"""

_REMOVE = "; ".join([f"DROP EVENT TRIGGER IF EXISTS {name}" for name in _TRIGGERS]
                    + [f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"])

# Rows since a position; through whatever connection the migration runs on.
LOG_SINCE = f"""
SELECT id, dropped, classid, objid, object_type, command_tag, names
FROM {SCHEMA}.touched WHERE id > %(since)s ORDER BY id
"""

HAS_LOG = f"SELECT to_regclass('{SCHEMA}.touched') IS NOT NULL"


def can_track(conn) -> bool:
    """Event triggers are a superuser's: the url backend may hand us less."""
    return bool(conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0])


def install(conn, prepare: tuple[str, ...] = ()) -> bool:
    """Start logging DDL on the database behind `conn` (autocommit), with a function that
    prepares the statements `prepare` on the session calling it; False when not allowed."""
    if not can_track(conn):
        return False
    conn.execute(_REMOVE)  # a clone of a database that still had it
    conn.execute(_INSTALL)
    if prepare:
        conn.execute(prepared.function(PREPARE_FUNCTION, list(prepare)))
    conn.execute(_START)
    return True


def remove(conn) -> None:
    conn.execute(_REMOVE)
