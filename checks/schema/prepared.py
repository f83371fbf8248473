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

_PARAM = re.compile(r"%\((\w+)\)s")
_PREFIX = "alembic_preflight_"


def name_of(query: str) -> str:
    # Named by the text, so a changed query is never run under an old plan's name.
    return _PREFIX + hashlib.sha1(query.encode()).hexdigest()[:20]


def _params(query: str) -> list[str]:
    return list(dict.fromkeys(_PARAM.findall(query)))


def execute(query: str, params: dict) -> str:
    """The EXECUTE that runs `query`'s prepared statement with `params` (named as in `query`)."""
    # EXECUTE takes no bound parameters, so the values are written in as literals; its
    # text is parsed, never planned, so a text of its own each time costs nothing. Written
    # here rather than by psycopg.sql, which took a fifth of a step's snapshot in the client.
    args = ", ".join(_value(params[name]) for name in _params(query))
    return f'EXECUTE "{name_of(query)}"({args})' if args else f'EXECUTE "{name_of(query)}"'


class Expression(str):
    """A parameter the server computes: SQL written into the EXECUTE as it is (a function
    call; PostgreSQL takes no subquery there)."""


def _value(value: object) -> str:
    if isinstance(value, Expression):
        return value
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"a catalog query's parameter is a text or an integer, not {value!r}")
    if isinstance(value, int):
        return str(value)
    # E'' reads the same whatever standard_conforming_strings says.
    return "E'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


# Prepares what the session lacks of the statements `function` was made with: a function
# is compiled once per session, where the same loop as a DO block, with every query's text
# in it, was parsed and compiled again at each snapshot (0.3 ms, twice a step).
_PREPARE_MISSING = """
DECLARE missing record;
BEGIN
    FOR missing IN SELECT * FROM (VALUES {rows}) AS wanted(name, body)
                   WHERE name NOT IN (SELECT name FROM pg_prepared_statements) LOOP
        EXECUTE format('PREPARE %I AS %s', missing.name, missing.body);
    END LOOP;
END"""


def _loop(queries: list[str]) -> str:
    # The parameters' types are left to PostgreSQL to infer from where each is used.
    rows = ", ".join(f"({_literal(name_of(query))}, {_literal(_numbered(query))})"
                     for query in dict.fromkeys(queries))
    return _PREPARE_MISSING.format(rows=rows)


def function(name: str, queries: list[str]) -> str:
    """CREATE FUNCTION `name`(): it prepares those of `queries` the session has not (or no
    longer); see `ensure`. No search_path of its own: each is planned for the caller's."""
    return f"CREATE FUNCTION {name}() RETURNS void LANGUAGE plpgsql AS " \
           f"$alembic_preflight${_loop(queries)}\n$alembic_preflight$"


def ensure(queries: list[str], function_name: str | None = None, installed: tuple[str, ...] = ()) -> str:
    """One statement that prepares those of `queries` the session has not (or no longer):
    a call of `function_name` when it was made with all of them (`installed`), else a DO
    block that carries them."""
    if function_name is not None and set(installed).issuperset(queries):
        return f"SELECT {function_name}()"
    return f"DO $alembic_preflight${_loop(queries)} $alembic_preflight$"


def _numbered(query: str) -> str:
    """`query` with its named parameters as $1, $2, ... in the order `execute` passes them."""
    positions = {name: index for index, name in enumerate(_params(query), start=1)}
    return _PARAM.sub(lambda match: f"${positions[match.group(1)]}", query)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
