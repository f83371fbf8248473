"""What a release's ORM sends for each table its models map, as plain data for the suite.

For every table of the models: a SELECT of every column by primary key (what a `get` or a
load sends), an INSERT of the columns the ORM sets (every column but an autoincrementing
key and those the database fills, the ones without any default going in as NULL), an
UPDATE of every other column by primary key and a DELETE by primary key, compiled with
PostgreSQL's dialect in the pyformat style (`%(name)s`). Each bind parameter is named
after the column whose value it carries, so the suite can fill it from a row it reads.
Works the same on SQLAlchemy 1.3, 1.4 and 2.x.
"""

from __future__ import annotations

PK_PREFIX = "rolling_key_"


def statements(metadatas: list) -> list:
    """One entry per table of the models, in a stable order."""
    from sqlalchemy.dialects import postgresql

    dialect = postgresql.dialect(paramstyle="pyformat")
    tables = sorted({t.fullname: t for md in metadatas for t in md.tables.values()}.items())
    return [_table(table, dialect) for _name, table in tables if list(table.primary_key.columns)]


def _table(table, dialect) -> dict:
    from sqlalchemy import and_, bindparam

    keys = list(table.primary_key.columns)
    where = and_(*[column == bindparam(PK_PREFIX + column.key) for column in keys])
    auto = getattr(table, "_autoincrement_column", None)
    inserted = [c for c in table.columns if c is not auto and c.server_default is None]
    updated = [c for c in table.columns if not c.primary_key]
    found = {
        "table": table.fullname,
        "schema": table.schema,
        "name": table.name,
        "columns": [_column(c, table) for c in table.columns],
        "select": _compiled(table.select().where(where), dialect),
        "insert": _compiled(table.insert().returning(*keys), dialect, [c.key for c in inserted]),
        "delete": _compiled(table.delete().where(where), dialect),
    }
    if updated:
        found["update"] = _compiled(table.update().where(where), dialect, [c.key for c in updated])
    return found


def _column(column, table) -> dict:
    return {"key": column.key, "name": column.name, "primary_key": bool(column.primary_key),
            "unique": _unique(column, table), "foreign_key": bool(column.foreign_keys),
            "kind": _kind(column)}


def _unique(column, table) -> bool:
    """Whether two rows may not share the column's value (a key, a unique constraint or index)."""
    from sqlalchemy import UniqueConstraint

    if column.primary_key or column.unique:
        return True
    constraints = [c for c in table.constraints if isinstance(c, UniqueConstraint)]
    groups = [list(c.columns) for c in constraints] + [list(i.columns) for i in table.indexes if i.unique]
    return any(column in group for group in groups)


def _kind(column) -> str:
    """What a value of the column is, for the suite to make a second one that differs."""
    try:
        python = column.type.python_type
    except (NotImplementedError, AttributeError):
        return "other"
    if python is bool:
        return "other"
    if issubclass(python, int):
        return "integer"
    if issubclass(python, str):
        return "text"
    return "uuid" if python.__name__ == "UUID" else "other"


def _compiled(statement, dialect, column_keys=None) -> dict:
    """The statement's SQL and, for each bind parameter in it, the column key it stands for."""
    compiled = statement.compile(dialect=dialect, column_keys=column_keys)
    params = {}
    for name in compiled.binds:
        key = name[len(PK_PREFIX):] if name.startswith(PK_PREFIX) else name
        params[name] = {"key": key, "primary_key": name.startswith(PK_PREFIX)}
    return {"sql": str(compiled), "params": params}
