"""Which objects env.py's autogenerate filters keep: asked of the project's own filters
(`include_object`, `include_name`, `include_schemas`) with the models' objects, or with
stand-ins shaped like the ones Alembic reflects where the models have none.

The suite narrows both schemas it compares (the models' and the migrations') to what
these filters keep, so that the catalog comparison leaves alone what autogenerate does.
Asked one by one where the models live in the suite's process; in a batch (`answer`)
where they live in the project's own.
"""

from __future__ import annotations

_CONSTRAINT_TYPES = {"u": "unique_constraint", "f": "foreign_key_constraint"}


def schema_of(name: str) -> str:
    """The schema of a display name ("users", "app.users"); functions carry their arguments."""
    head = name.split("(", 1)[0]
    return head.rpartition(".")[0] or "public"


class Filters:
    def __init__(self, options: dict, include_object, metadatas: list) -> None:
        self.include_object = include_object
        self.include_name = options.get("include_name")
        self.all_schemas = bool(options.get("include_schemas", False))
        self.tables = _model_tables(metadatas)
        self.declared_schemas = {schema_of(name) for name in self.tables} | {"public"}
        self.filters_named = options.get("include_object") is not None or self.include_name is not None

    def schema(self, name: str) -> bool:
        if not self.all_schemas and name not in self.declared_schemas:
            return False  # autogenerate reflects only the default schema then
        return self._named_allows(None if name == "public" else name, "schema", {})

    def table(self, name: str) -> bool:
        model = self.tables.get(name)
        obj = model if model is not None else _probe_table(name)
        return (_asks(self.include_object, obj, obj.name, "table", model is None, None)
                and self._named_allows(obj.name, "table", _parents(name)))

    def column(self, table_name: str, name: str) -> bool:
        import sqlalchemy as sa

        model = self.tables.get(table_name)
        found = model.c.get(name) if model is not None else None
        obj = found if found is not None else sa.Column(name, sa.types.NullType())
        if found is None:
            _probe_table(table_name).append_column(obj)
        return (_asks(self.include_object, obj, name, "column", found is None, None)
                and self._named_allows(name, "column", _parents(table_name)))

    def named(self, table_name: str, name: str, type_: str, columns) -> bool:
        """An index ("index") or a constraint ("u" unique, "f" foreign key; others are kept)."""
        type_ = _CONSTRAINT_TYPES.get(type_, type_)
        if type_ not in ("index", "unique_constraint", "foreign_key_constraint") or not self.filters_named:
            return True  # env.py filters nothing of this kind: no stand-ins to build
        model = self.tables.get(table_name)
        found = _find_named(model, name, type_) if model is not None else None
        try:
            obj = found if found is not None else _probe_named(table_name, name, type_, tuple(columns))
        except Exception:  # noqa: BLE001 - a shape our stand-in cannot take: compare it
            return True
        return (_asks(self.include_object, obj, name, type_, found is None, None)
                and self._named_allows(name, type_, _parents(table_name)))

    def answer(self, questions: dict) -> dict:
        """Every question at once: lists of schemas, tables, [table, column] and [table, name,
        kind, columns], each answered by a list of booleans in the same order."""
        return {
            "schemas": [self.schema(name) for name in questions.get("schemas", ())],
            "tables": [self.table(name) for name in questions.get("tables", ())],
            "columns": [self.column(table, name) for table, name in questions.get("columns", ())],
            "named": [self.named(table, name, kind, columns)
                      for table, name, kind, columns in questions.get("named", ())],
        }

    def _named_allows(self, name, type_: str, parents: dict) -> bool:
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


def _model_tables(metadatas: list) -> dict:
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


def _probe_table(name: str):
    import sqlalchemy as sa

    schema = schema_of(name)
    return sa.Table(name.rpartition(".")[2], sa.MetaData(), schema=None if schema == "public" else schema)


def _find_named(model, name: str, type_: str):
    import sqlalchemy as sa

    candidates = model.indexes if type_ == "index" else model.constraints
    wanted = {"index": sa.Index, "unique_constraint": sa.UniqueConstraint,
              "foreign_key_constraint": sa.ForeignKeyConstraint}[type_]
    return next((c for c in candidates if isinstance(c, wanted) and c.name == name), None)


def _probe_named(table_name: str, name: str, type_: str, columns: tuple):
    """An index or constraint attached to a table, as the ones Alembic reflects are:
    filters read `obj.table`, which an unattached one raises on."""
    import sqlalchemy as sa

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
