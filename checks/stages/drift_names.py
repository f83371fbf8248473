"""Names longer than PostgreSQL keeps: compared as PostgreSQL stores them, and named once.

PostgreSQL keeps the first 63 bytes of an identifier (NAMEDATALEN - 1), never splitting a
character, and truncates the same way wherever the name appears, so an application using
the long name works. A migration creating such a table or column leaves the truncated name
in the catalog; the models keep the long one. Compared naively, autogenerate sees a table
or column added and another removed, and SQLAlchemy's create_all refuses a table name over
63 characters (counting characters, not bytes), so the drift stage would report a false
difference or none at all. Here long names are compared truncated, and each is reported
once as a warning with the name the database has.
"""

from __future__ import annotations

from checks.result import Finding, Severity

MAX_BYTES = 63


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


def long_name_findings(metadatas: list, revision: str | None) -> list[Finding]:
    return [Finding(
        Severity.WARNING, "identifier-truncated",
        f"{what} is {len(name.encode('utf-8'))} bytes; PostgreSQL keeps only the first {MAX_BYTES}, "
        f"so the database calls it {pg_truncate(name)!r} (drift compares it so)", revision=revision,
        object=what, hint=f"name it {pg_truncate(name)!r} in the models: that is what the database "
                          "already has, so no migration is needed, and create_all accepts it")
        for what, name in long_names(metadatas)]


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
