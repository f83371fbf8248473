"""Take a snapshot through whatever connection is at hand.

Between two migration steps the only view of the uncommitted schema is the migration's
own SQLAlchemy connection, which may even be an async driver's, run through
`run_sync`. The snapshot module speaks psycopg; this adapter lets it read through a
SQLAlchemy connection of any driver.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from sqlalchemy import text

from checks.schema import Snapshot, take_snapshot
from projectside.run import autocommits as sqlalchemy_autocommits

_NAMED = re.compile(r"%\((\w+)\)s")


class _SqlAlchemyAsPsycopg:
    """The subset of psycopg.Connection the snapshot uses, over a SQLAlchemy connection."""

    def __init__(self, connection) -> None:
        self._connection = connection

    def execute(self, query: str, params: dict | None = None):
        converted = _NAMED.sub(r":\1", query).replace("%%", "%")
        # A colon inside the catalog SQL (::regclass casts) must not read as a bind.
        converted = re.sub(r"::", r"\\:\\:", converted)
        return self._connection.execute(text(converted), params or {})

    @contextlib.contextmanager
    def transaction(self, force_rollback: bool = False):
        nested = self._connection.begin_nested()
        try:
            yield
        finally:
            nested.rollback()


def _psycopg_under(connection) -> psycopg.Connection | None:
    if isinstance(connection, psycopg.Connection):
        return connection
    driver = getattr(getattr(connection, "connection", None), "driver_connection", None)
    return driver if isinstance(driver, psycopg.Connection) else None


def scalar_unprepared(connection, *statements: str):
    """The first value the last of `statements` returns, all sent through a SQLAlchemy
    `connection` in one text where it is psycopg's. Never prepared by psycopg, which
    prepares a statement it has seen five times: once it holds one, the migrations' next
    ALTER or DROP (or a ROLLBACK TO) makes it DEALLOCATE ALL, and the snapshots'
    prepared statements would go with it at every step."""
    driver = _psycopg_under(connection)
    if driver is None:
        for statement in statements:
            result = connection.exec_driver_sql(statement)
        return result.scalar() if result.returns_rows else None
    with driver.cursor() as cursor:
        cursor.execute(";\n".join(statements).encode(), prepare=False)
        while cursor.nextset():
            pass  # to the last statement's result
        row = cursor.fetchone() if cursor.pgresult is not None and cursor.pgresult.ntuples else None
    return row[0] if row else None


def snapshot_of(connection, version_table: str = "alembic_version",
                take: Callable[[object], Snapshot] | None = None) -> Snapshot:
    """A snapshot through `connection`, full or by `take` (an incremental taker's)."""
    take = take or functools.partial(take_snapshot, version_table=version_table)
    driver = _psycopg_under(connection)
    if driver is not None:
        return take(driver)
    if autocommits(connection):
        # No savepoint is possible, and nothing is uncommitted: any session sees this state.
        url = connection.own_url if hasattr(connection, "fetch_batch") else connection.engine.url
        with psycopg.connect(host=url.host, port=url.port, user=url.username, password=url.password,
                             dbname=url.database, autocommit=True) as own:
            return take(own)
    if hasattr(connection, "fetch_batch"):
        return take(connection)  # the project's process runs the catalog's statements
    return take(_SqlAlchemyAsPsycopg(connection))


def autocommits(connection) -> bool:
    """Whether the DBAPI connection under a SQLAlchemy one (or the migration's, in the
    project's process) commits every statement itself."""
    said = getattr(connection, "autocommit", None)
    if isinstance(said, bool) and hasattr(connection, "fetch_batch"):
        return said
    return sqlalchemy_autocommits(connection)


# The suite's own event triggers (checks.schema.tracking) are named with this.
_SUITE_PREFIX = "alembic_preflight_"
_TIES = f"""SELECT 'inherits', child.relname, parent.relname FROM pg_inherits i
JOIN pg_class child ON child.oid = i.inhrelid JOIN pg_class parent ON parent.oid = i.inhparent
UNION ALL SELECT 'event trigger', evtname, '' FROM pg_event_trigger
WHERE left(evtname, {len(_SUITE_PREFIX)}) <> '{_SUITE_PREFIX}'"""


@dataclass(frozen=True)
class Ties:
    """What ties a change to one relation to others out of a measurement's sight
    (projectside.measure): it reads the catalog rows a statement wrote of the relations
    whose pg_class row it wrote, and no code but the statement's."""

    inherits: frozenset[tuple[str, str]]  # (child, parent), by name: a change to one can reach the other
    event_triggers: frozenset[str]  # the project's own: code run on every DDL statement


def ties(connection) -> Ties:
    """The database's Ties, read through whatever connection is at hand."""
    run = getattr(connection, "exec_driver_sql", None) or connection.execute
    rows = run(_TIES).fetchall()
    return Ties(frozenset((child, parent) for kind, child, parent in rows if kind == "inherits"),
                frozenset(name for kind, name, _ in rows if kind == "event trigger"))
