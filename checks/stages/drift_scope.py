"""What the catalog comparison of the drift stage looks at: what autogenerate would.

env.py tells autogenerate what to leave alone (`include_object`, `include_name`,
`include_schemas`). The catalog comparison must leave the same things alone, or it
reports as drift the PostGIS tables, the partitions and the legacy schemas a project
has deliberately excluded. Kinds of object SQLAlchemy models cannot declare (views,
functions, triggers, row-level security, grants made with `op.execute`) are compared only
when the models do declare some of that kind themselves, through DDL events.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import sqlalchemy as sa

from checks.schema.scope import Scope, objects_in_schema, schema_of
from checks.schema.snapshot import Constraint, Index, Snapshot

# Kinds a models database holds only when the models attach DDL for them.
DDL_ONLY_KINDS = ("views", "functions", "triggers", "policies", "privileges")
_CONSTRAINT_TYPES = {"u": "unique_constraint", "f": "foreign_key_constraint"}

IncludeObject = Callable[..., bool]


def drift_scope(options: dict, include_object: IncludeObject, metadatas: list, models: Snapshot,
                head: Snapshot) -> Scope:
    """The scope both snapshots are narrowed to before they are compared."""
    tables = _model_tables(metadatas)
    names = _NameFilter(options.get("include_name"))
    declared_schemas = {schema_of(name) for name in tables} | {"public"}
    all_schemas = options.get("include_schemas", False)

    @functools.cache  # asked once per object; counting a schema's objects reads them all
    def schema(name: str) -> bool:
        if not all_schemas and name not in declared_schemas:
            return False  # autogenerate reflects only the default schema then
        if objects_in_schema(head, name) == 0 and objects_in_schema(models, name) == 0:
            return False  # e.g. a schema that holds only the version table
        return names.allows(None if name == "public" else name, "schema", {})

    def table(name: str) -> bool:
        model = tables.get(name)
        obj = model if model is not None else _probe_table(name)
        return (_asks(include_object, obj, obj.name, "table", model is None, None)
                and names.allows(obj.name, "table", _parents(name)))

    def column(table_name: str, name: str) -> bool:
        model = tables.get(table_name)
        found = model.c.get(name) if model is not None else None
        obj = found if found is not None else sa.Column(name, sa.types.NullType())
        if found is None:
            _probe_table(table_name).append_column(obj)
        return (_asks(include_object, obj, name, "column", found is None, None)
                and names.allows(name, "column", _parents(table_name)))

    def index(item: Index) -> bool:
        return _named(item.table, item.name, "index", item.columns)

    def constraint(item: Constraint) -> bool:
        kind = _CONSTRAINT_TYPES.get(item.kind)
        return kind is None or _named(item.table, item.name, kind, item.columns)

    def _named(table_name: str, name: str, type_: str, columns: tuple[str, ...]) -> bool:
        if options.get("include_object") is None and names.include_name is None:
            return True  # env.py filters nothing of this kind: no stand-ins to build
        model = tables.get(table_name)
        found = _find_named(model, name, type_) if model is not None else None
        try:
            obj = found if found is not None else _probe_named(table_name, name, type_, columns)
        except Exception:  # noqa: BLE001 - a shape our stand-in cannot take: compare it
            return True
        return (_asks(include_object, obj, name, type_, found is None, None)
                and names.allows(name, type_, _parents(table_name)))

    left_out = frozenset(kind for kind in DDL_ONLY_KINDS if not _declared(models, kind))
    return Scope(schema=schema, table=table, column=column, index=index, constraint=constraint,
                 left_out=left_out)


def _declared(models: Snapshot, kind: str) -> bool:
    if kind == "privileges":  # a GRANT, or an ALTER DEFAULT PRIVILEGES
        return bool(models.privileges or models.default_privileges)
    return bool(getattr(models, kind))


class _NameFilter:
    def __init__(self, include_name) -> None:
        self.include_name = include_name

    def allows(self, name, type_: str, parents: dict) -> bool:
        if self.include_name is None:
            return True
        return _asks(self.include_name, name, type_, parents)


def _asks(predicate, *args) -> bool:
    """The project's filter's answer; an object it cannot handle is compared, not hidden."""
    if predicate is None:
        return True
    try:
        return bool(predicate(*args))
    except Exception:  # noqa: BLE001 - their filter expects a richer object than our probe
        return True


def _model_tables(metadatas: list) -> dict[str, sa.Table]:
    found = {}
    for metadata in metadatas:
        for model in metadata.tables.values():
            schema = model.schema if model.schema not in (None, "public") else None
            found[f"{schema}.{model.name}" if schema else model.name] = model
    return found


def _parents(table_name: str) -> dict:
    schema = schema_of(table_name)
    name = table_name.rpartition(".")[2]
    return {"schema_name": None if schema == "public" else schema, "table_name": name,
            "schema_qualified_table_name": table_name}


def _probe_table(name: str) -> sa.Table:
    schema = schema_of(name)
    return sa.Table(name.rpartition(".")[2], sa.MetaData(), schema=None if schema == "public" else schema)


def _find_named(model: sa.Table, name: str, type_: str):
    candidates = model.indexes if type_ == "index" else model.constraints
    wanted = {"index": sa.Index, "unique_constraint": sa.UniqueConstraint,
              "foreign_key_constraint": sa.ForeignKeyConstraint}[type_]
    return next((c for c in candidates if isinstance(c, wanted) and c.name == name), None)


def _probe_named(table_name: str, name: str, type_: str, columns: tuple[str, ...]):
    """An index or constraint attached to a table, as the ones Alembic reflects are:
    filters read `obj.table`, which an unattached one raises on."""
    table = _probe_table(table_name)
    for column in columns or ("?",):
        table.append_column(sa.Column(column, sa.types.NullType()))
    cols = [table.c[c] for c in columns or ("?",)]
    if type_ == "index":
        return sa.Index(name, *cols)
    probe = (sa.UniqueConstraint(*cols, name=name) if type_ == "unique_constraint"
             else sa.ForeignKeyConstraint(cols, [f"referred.{c.name}" for c in cols], name=name))
    table.append_constraint(probe)
    return probe

