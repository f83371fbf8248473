"""What a release's ORM sends for each table its models map, as plain data for the suite.

For every table of the models: a SELECT of every column by primary key (what a `get` or a
load sends), an INSERT of the columns the ORM sets (every column but an autoincrementing
key and those the database fills, the ones without any default going in as NULL), an
UPDATE of every other column by primary key and a DELETE by primary key, compiled with
PostgreSQL's dialect in the pyformat style (`%(name)s`). Each bind parameter is named
after the column whose value it carries, so the suite can fill it from a row it reads.

"Every column" is every column a mapped class maps, where one maps the table: a column the
table still declares and the mapper leaves out (exclude_properties, include_properties) is
one the ORM never sends, the way a release stops using a column before it is dropped. A
table no class maps is used as a table, every column of it. Works the same on SQLAlchemy
1.3, 1.4 and 2.x.
"""

from __future__ import annotations

PK_PREFIX = "rolling_key_"


def statements(metadatas: list) -> list:
    """One entry per table of the models, in a stable order."""
    from sqlalchemy.dialects import postgresql

    dialect = postgresql.dialect(paramstyle="pyformat")
    tables = sorted({t.fullname: t for md in metadatas for t in md.tables.values()}.items())
    mapped = _mapped_columns()
    return [_table(table, dialect, mapped.get(id(table))) for _name, table in tables
            if list(table.primary_key.columns)]


def _mapped_columns() -> dict:
    """Per table some class maps (by id: a column's == builds SQL), the ids of the columns of
    it the mappers map, its key among them."""
    found: dict = {}
    for mapper in _mappers():
        columns = {id(column) for column in mapper.columns.values()}
        for table in getattr(mapper, "tables", None) or [mapper.local_table]:
            if hasattr(table, "columns"):
                kept = found.setdefault(id(table), set())
                kept.update(id(c) for c in table.columns if id(c) in columns or c.primary_key)
    return found


def _mappers() -> list:
    """Every mapper configured so far: SQLAlchemy 1.4 and 2.x keep registries, 1.3 mappers."""
    from sqlalchemy.orm import configure_mappers, mapperlib

    try:
        configure_mappers()
    except Exception:  # noqa: BLE001 - a mapper that cannot be configured maps nothing the app can use
        return []
    registries = getattr(mapperlib, "_mapper_registries", None)
    if registries is not None:
        return [mapper for registry in list(registries) for mapper in getattr(registry, "mappers", ())]
    return list(getattr(mapperlib, "_mapper_registry", ()))


def _table(table, dialect, mapped: set | None = None) -> dict:
    from sqlalchemy import and_, bindparam, select

    keys = list(table.primary_key.columns)
    used = [c for c in table.columns if mapped is None or id(c) in mapped]
    where = and_(*[column == bindparam(PK_PREFIX + column.key) for column in keys])
    auto = getattr(table, "_autoincrement_column", None)
    inserted = [c for c in used if c is not auto and c.server_default is None]
    updated = [c for c in used if not c.primary_key]
    chosen = select(*used) if _select_takes_columns() else select(used)
    found = {
        "table": table.fullname,
        "schema": table.schema,
        "name": table.name,
        "columns": [_column(c, table) for c in used],
        "select": _compiled(chosen.where(where), dialect),
        "insert": _compiled(table.insert().returning(*keys), dialect, [c.key for c in inserted]),
        "delete": _compiled(table.delete().where(where), dialect),
    }
    if updated:
        found["update"] = _compiled(table.update().where(where), dialect, [c.key for c in updated])
    return found


def _select_takes_columns() -> bool:
    """Whether select() takes the columns as arguments (1.4, 2.x) or as one list (1.3)."""
    import sqlalchemy

    return not sqlalchemy.__version__.startswith("1.3")


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
