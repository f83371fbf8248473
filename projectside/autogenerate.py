"""Alembic's autogenerate, run where the project's models live: the differences between
the models and a migrated database, in words a reader can act on, as plain data.

Long names are compared as PostgreSQL stores them: it keeps the first 63 bytes of an
identifier, never splitting a character, so a migration creating such a table or column
leaves the truncated name in the catalog while the models keep the long one. Naively,
autogenerate would see one object added and another removed; each such pair is dropped
here, and the suite names every long name once.
"""

from __future__ import annotations

MAX_BYTES = 63
# What env.py passes to context.configure that a comparison must honour.
COMPARE_OPTIONS = ("include_object", "include_name", "include_schemas", "compare_type",
                   "compare_server_default", "version_table", "version_table_schema")


def compare(url: str, metadatas: list, options: dict, ignore) -> list:
    """[message, object, property] for each difference autogenerate finds between the models
    and the database at `url`, with env.py's options, leaving out what `ignore` names."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    from .reflection import every_schema_read_in_bulk

    opts = {key: value for key, value in options.items() if key in COMPARE_OPTIONS}
    opts["include_object"] = include_filter(options.get("include_object"), frozenset(ignore))
    # Alembic before 1.12 compared no column types unless asked; `alembic check` does now.
    opts.setdefault("compare_type", True)
    opts["target_metadata"] = metadatas if len(metadatas) > 1 else metadatas[0]
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection, every_schema_read_in_bulk():
            context = MigrationContext.configure(connection, opts=opts)
            diffs = without_truncation_pairs(compare_metadata(context, opts["target_metadata"]))
    finally:
        engine.dispose()
    return [list(words) for diff in diffs for words in describe_autogenerate_diff(diff)]


def include_filter(theirs, ignore: frozenset):
    """env.py's include_object, less the tables and columns the suite's settings ignore."""
    def include_object(obj, name, type_, reflected, compare_to):
        table = getattr(obj, "table", None)
        if type_ == "table" and (name in ignore or _qualified(obj) in ignore):
            return False
        if type_ == "column" and table is not None and f"{table.name}.{name}" in ignore:
            return False
        return theirs(obj, name, type_, reflected, compare_to) if theirs else True

    return include_object


def _qualified(table) -> str:
    schema = getattr(table, "schema", None)
    return f"{schema}.{table.name}" if schema else getattr(table, "name", "")


def pg_truncate(name: str) -> str:
    """`name` as PostgreSQL stores it: at most 63 bytes of UTF-8, whole characters only."""
    data = name.encode("utf-8")
    if len(data) <= MAX_BYTES:
        return name
    return data[:MAX_BYTES].decode("utf-8", errors="ignore")


def _is_long(name) -> bool:
    return isinstance(name, str) and len(name.encode("utf-8")) > MAX_BYTES


def long_names(metadatas: list) -> list[tuple[str, str]]:
    """(what, name) for every table and column of the models whose name PostgreSQL truncates."""
    found = []
    for metadata in metadatas:
        for table in metadata.tables.values():
            if _is_long(table.name):
                found.append((f"table {table.name}", table.name))
            found += [(f"column {table.name}.{c.name}", c.name) for c in table.columns if _is_long(c.name)]
    return found


def without_truncation_pairs(diffs: list) -> list:
    """Autogenerate's differences less each add/remove pair that is one object whose name (or
    its table's, or a column's) is long: the same once names are truncated as PostgreSQL
    does, and only then (a foreign key whose action changed is also a remove and an add)."""
    added = [d for d in diffs if isinstance(d, tuple) and d[0].startswith("add_")]
    removed = [d for d in diffs if isinstance(d, tuple) and d[0].startswith("remove_")]
    paired: set[int] = set()
    for add in added:
        key, raw = _signature(add, pg_truncate), _signature(add, str)
        match = next((r for r in removed if id(r) not in paired and key is not None
                      and r[0] == "remove_" + add[0][4:] and _signature(r, pg_truncate) == key
                      and _signature(r, str) != raw), None)
        if match is not None:
            paired.update({id(add), id(match)})
    return [d for d in diffs if id(d) not in paired]


def _signature(diff, cut) -> tuple | None:
    """What identifies the object with every name in it passed through `cut`; None for other kinds."""
    kind = diff[0].split("_", 1)[1]
    if kind == "table":
        return (diff[1].schema, cut(diff[1].name))
    if kind == "column":
        return (diff[1], cut(diff[2]), cut(diff[3].name))
    if kind in ("index", "constraint", "fk"):
        obj = diff[1]
        table = getattr(obj, "table", None)
        columns = tuple(cut(c.name) for c in getattr(obj, "columns", ()) if hasattr(c, "name"))
        referred = tuple(cut(e.column.name) for e in getattr(obj, "elements", ())
                         if kind == "fk" and getattr(e, "column", None) is not None)
        return (kind, cut(obj.name or ""), getattr(table, "schema", None), cut(getattr(table, "name", "")),
                columns, referred)
    return None


def _table_name(table) -> str:
    return f"{table.schema}.{table.name}" if getattr(table, "schema", None) else table.name


def _qualify(schema, table) -> str:
    return f"{schema}.{table}" if schema else table


def _columns(obj) -> str:
    return ", ".join(c.name for c in getattr(obj, "columns", ())) or "?"


def _describe(diff: tuple) -> tuple[str, str]:
    kind = diff[0]
    if kind == "add_table":
        name = _table_name(diff[1])
        return f"table {name} is in the models but no migration creates it", name
    if kind == "remove_table":
        name = _table_name(diff[1])
        return (f"table {name} exists after the migrations but is in no model "
                "(drop it in a migration, or add the model; if its model is in a module env.py "
                "does not import, name that module in the metadata_modules setting)", name)
    if kind in ("add_column", "remove_column"):
        _, schema, table, column = diff
        name = f"{_qualify(schema, table)}.{column.name}"
        if kind == "add_column":
            return f"column {name} is in the models but no migration adds it", name
        return f"column {name} exists after the migrations but is in no model", name
    if kind in ("add_index", "remove_index", "add_constraint", "remove_constraint",
                "add_fk", "remove_fk"):
        obj = diff[1]
        table = _table_name(obj.table)
        what = {"index": "index", "constraint": "constraint", "fk": "foreign key"}[kind.split("_", 1)[1]]
        label = f"{what} {obj.name or ''} on {table}({_columns(obj)}){_fk_target(obj)}".replace("  ", " ")
        obj_name = f"{what} {table}.{obj.name or _columns(obj)}"
        if kind.startswith("add"):
            return f"{label} is in the models but not in the migrated schema", obj_name
        return f"{label} is in the migrated schema but not in the models", obj_name
    if kind.startswith("modify_"):
        _, schema, table, column, _info, existing, new = diff
        prop = kind.removeprefix("modify_")
        name = f"{_qualify(schema, table)}.{column}"
        return (f"{name}: {prop} {_render(new)} in models, {_render(existing)} in migrations", name)
    if kind in ("add_table_comment", "remove_table_comment"):
        name = _table_name(diff[1])
        return f"table {name}: comment differs between models and migrations", name
    return f"autogenerate reports {kind}: {diff[1:]!r}", str(diff[1])


def _fk_target(obj) -> str:
    """' -> parents(id) ON DELETE CASCADE' for a foreign key: a changed action is often
    the only difference between the removed and the added one."""
    elements = getattr(obj, "elements", None)
    if not elements or not hasattr(obj, "ondelete"):
        return ""
    referred = elements[0].target_fullname.rsplit(".", 1)[0]
    columns = ", ".join(e.target_fullname.rsplit(".", 1)[1] for e in elements)
    actions = "".join(f" ON {event} {action.upper()}" for event, action in
                      (("DELETE", obj.ondelete), ("UPDATE", obj.onupdate)) if action)
    return f" -> {referred}({columns}){actions}"


def _render(value) -> str:
    if value is None:
        return "none"
    arg = getattr(value, "arg", None)  # a server default
    if arg is not None:
        return str(getattr(arg, "text", arg))
    return str(value)


def _property(kind: str) -> str:
    """The property a diff is about, in the catalog comparison's terms."""
    if kind.startswith("modify_"):
        return kind.removeprefix("modify_")
    return "comment" if kind.endswith("_comment") else "exists"


def describe_autogenerate_diff(diff) -> list[tuple[str, str, str]]:
    """(message, object, property) triples; modifications arrive as lists of several tuples."""
    diffs = diff if isinstance(diff, list) else [diff]
    return [(*_describe(d), _property(d[0])) for d in diffs]
