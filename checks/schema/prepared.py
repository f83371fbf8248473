"""Catalog queries as statements prepared once per connection, so each is planned once.

A step's snapshot sends the same dozen queries every time with other oids; planning them
cost more than running them. They are prepared by SQL under names of their own rather
than through psycopg's cache, which forgets every statement of the session (DEALLOCATE
ALL) after a DROP, ALTER or ROLLBACK whose text it has not seen before, and migrations
send those nearly every step. Whatever forgets them, `ensure` prepares them again in the same round trip.
"""

from __future__ import annotations

import hashlib
import re

from psycopg import sql

_PARAM = re.compile(r"%\((\w+)\)s")
_PREFIX = "alembic_verify_"


def name_of(query: str) -> str:
    # Named by the text, so a changed query is never run under an old plan's name.
    return _PREFIX + hashlib.sha1(query.encode()).hexdigest()[:20]


def _params(query: str) -> list[str]:
    return list(dict.fromkeys(_PARAM.findall(query)))


def execute(conn, query: str, params: dict) -> bytes:
    """The EXECUTE that runs `query`'s prepared statement with `params` (named as in `query`)."""
    # EXECUTE takes no bound parameters, so the values are written in as literals; its
    # text is parsed, never planned, so a text of its own each time costs nothing.
    args = [sql.Literal(params[name]) for name in _params(query)]
    statement = sql.SQL("EXECUTE {}").format(sql.Identifier(name_of(query)))
    if args:
        statement = sql.SQL("{}({})").format(statement, sql.SQL(", ").join(args))
    return statement.as_bytes(conn)


def ensure(queries: list[str]) -> str:
    """One statement that prepares those of `queries` the session has not (or no longer)."""
    rows = ", ".join(f"({_literal(name_of(query))}, {_literal(_numbered(query))})"
                     for query in dict.fromkeys(queries))
    # The parameters' types are left to PostgreSQL to infer from where each is used.
    return f"""DO $alembic_verify$
DECLARE missing record;
BEGIN
    FOR missing IN SELECT * FROM (VALUES {rows}) AS wanted(name, body)
                   WHERE name NOT IN (SELECT name FROM pg_prepared_statements) LOOP
        EXECUTE format('PREPARE %I AS %s', missing.name, missing.body);
    END LOOP;
END $alembic_verify$"""


def _numbered(query: str) -> str:
    """`query` with its named parameters as $1, $2, ... in the order `execute` passes them."""
    positions = {name: index for index, name in enumerate(_params(query), start=1)}
    return _PARAM.sub(lambda match: f"${positions[match.group(1)]}", query)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
