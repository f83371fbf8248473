"""Alembic's autogenerate diff tuples, in words a reader can act on."""

from __future__ import annotations


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
