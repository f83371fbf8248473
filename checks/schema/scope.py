"""The part of a snapshot a comparison looks at.

A comparison sometimes must leave objects out: the ones env.py's autogenerate filters
exclude, or kinds of object one side cannot declare at all. Rather than teach every
comparator about filters, the two snapshots are narrowed first, so the one diff stays
the only place that decides what differs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from checks.schema.snapshot import Constraint, Index, Privilege, Snapshot, Table

# Kinds of object a scope can leave out wholesale.
OPTIONAL_KINDS = ("views", "functions", "triggers", "policies", "sequences", "domains", "enums", "privileges")


def _keep_all(*_args) -> bool:
    return True


@dataclass(frozen=True)
class Scope:
    """Predicates over display names ("users", "app.users"); each says whether to compare."""

    schema: Callable[[str], bool] = _keep_all
    table: Callable[[str], bool] = _keep_all
    column: Callable[[str, str], bool] = _keep_all  # (table, column)
    index: Callable[[Index], bool] = _keep_all
    constraint: Callable[[Constraint], bool] = _keep_all
    left_out: frozenset[str] = frozenset()  # members of OPTIONAL_KINDS not compared at all


def schema_of(name: str) -> str:
    """The schema of a display name; functions carry their arguments, which may hold dots."""
    head = name.split("(", 1)[0]
    return head.rpartition(".")[0] or "public"


def column_table(column: str) -> str:
    """The table of "table.column" or "schema.table.column"."""
    return column.rpartition(".")[0]


def narrow(snap: Snapshot, scope: Scope) -> Snapshot:
    """A copy of `snap` holding only what `scope` keeps."""

    def kept(name: str) -> bool:
        return scope.schema(schema_of(name))

    tables = {name: _narrow_table(name, table, scope) for name, table in snap.tables.items()
              if kept(name) and scope.table(name)}

    def on_kept_table(table: str) -> bool:
        return table in tables or (table in snap.views and kept(table))

    def columns_kept(table: str, columns: tuple[str, ...]) -> bool:
        return table not in tables or all(c in tables[table].columns for c in columns)

    def wanted(kind: str, items: dict) -> dict:
        return {} if kind in scope.left_out else {name: value for name, value in items.items() if kept(name)}

    sequences = {
        name: seq for name, seq in wanted("sequences", snap.sequences).items()
        # A serial column's sequence goes wherever its column goes.
        if seq.owned_by is None or (column_table(seq.owned_by) in tables
                                    and seq.owned_by.rpartition(".")[2]
                                    in tables[column_table(seq.owned_by)].columns)
    }
    narrowed = dataclasses.replace(
        snap,
        schemas=tuple(s for s in snap.schemas if scope.schema(s)),
        tables=tables,
        constraints=tuple(c for c in snap.constraints if on_kept_table(c.table)
                          and columns_kept(c.table, c.columns) and scope.constraint(c)),
        indexes=tuple(i for i in snap.indexes if on_kept_table(i.table)
                      and columns_kept(i.table, i.columns) and scope.index(i)),
        triggers=() if "triggers" in scope.left_out else tuple(
            t for t in snap.triggers if on_kept_table(t.table)),
        # Row-level security goes with its policies: neither can be declared without the other's DDL.
        policies=() if "policies" in scope.left_out else tuple(
            p for p in snap.policies if on_kept_table(p.table)),
        row_security={} if "policies" in scope.left_out else {
            t: mode for t, mode in snap.row_security.items() if t in tables},
        sequences=sequences,
        views=wanted("views", snap.views),
        enums=wanted("enums", snap.enums),
        domains=wanted("domains", snap.domains),
        functions=wanted("functions", snap.functions),
        privileges=(), default_privileges=(),
    )
    if "privileges" not in scope.left_out:
        # Grants go wherever the objects they are on go.
        narrowed.privileges = tuple(grant for grant in snap.privileges if holds_object_of(narrowed, grant))
        narrowed.default_privileges = tuple(grant for grant in snap.default_privileges
                                            if grant.schema is None or grant.schema in narrowed.schemas)
    return narrowed


def holds_object_of(snap: Snapshot, grant: Privilege) -> bool:
    """Whether `snap` holds the object `grant` is on."""
    if grant.kind == "schema":
        return grant.name in snap.schemas
    if grant.kind in ("function", "procedure"):
        return grant.name in snap.functions
    if grant.kind == "column":
        table, column = column_table(grant.name), grant.name.rpartition(".")[2]
        return table in snap.views or (table in snap.tables and column in snap.tables[table].columns)
    return grant.name in snap.tables or grant.name in snap.views or grant.name in snap.sequences


def _narrow_table(name: str, table: Table, scope: Scope) -> Table:
    columns = {column: value for column, value in table.columns.items() if scope.column(name, column)}
    return dataclasses.replace(table, columns=columns)


def objects_in_schema(snap: Snapshot, schema: str) -> int:
    """How many named objects live in `schema` (the version table is never in a snapshot)."""
    named = [*snap.tables, *snap.views, *snap.sequences, *snap.enums, *snap.domains, *snap.functions]
    return sum(1 for name in named if schema_of(name) == schema)
