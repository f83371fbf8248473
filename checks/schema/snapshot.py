"""One picture of a database's user schema, read from pg_catalog in a fixed number of queries.

Objects are keyed by display name: `users` for the public schema, `app.users` elsewhere.
Values are PostgreSQL's own renderings (format_type, pg_get_expr, pg_get_*def), so two
databases built from equivalent DDL read the same; `checks.schema.diff` decides which
remaining differences are real.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

from checks.schema import queries


@dataclass(frozen=True)
class Column:
    type: str
    nullable: bool
    default: str | None
    identity: str | None  # "always", "by default" or None
    generated: str | None  # expression of a GENERATED ALWAYS AS (...) STORED column
    collation: str | None  # only when it differs from the type's
    comment: str | None


@dataclass
class Table:
    kind: str  # "table", "partitioned table" or "foreign table"
    columns: dict[str, Column] = field(default_factory=dict)
    comment: str | None = None
    partition_key: str | None = None
    partition_of: str | None = None
    partition_bound: str | None = None


@dataclass(frozen=True)
class Constraint:
    table: str
    name: str
    kind: str  # pg_constraint.contype: p, u, f, c or x
    definition: str  # pg_get_constraintdef: includes FK actions and deferrability
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Index:
    table: str
    name: str
    definition: str  # pg_get_indexdef without the index's name
    columns: tuple[str, ...]  # plain columns only; expressions are in the definition


@dataclass(frozen=True)
class Sequence:
    data_type: str
    start: int
    increment: int
    minimum: int
    maximum: int
    cache: int
    cycle: bool
    owned_by: str | None  # "table.column" of a serial or identity column


@dataclass(frozen=True)
class View:
    materialized: bool
    definition: str


@dataclass(frozen=True)
class Domain:
    type: str
    nullable: bool
    default: str | None
    checks: tuple[str, ...]


@dataclass(frozen=True)
class Trigger:
    table: str
    name: str
    definition: str


@dataclass(frozen=True)
class Policy:
    table: str
    name: str
    definition: str  # AS PERMISSIVE FOR ALL TO public USING (...) WITH CHECK (...)


@dataclass
class Snapshot:
    schemas: tuple[str, ...] = ()
    extensions: tuple[str, ...] = ()
    tables: dict[str, Table] = field(default_factory=dict)
    constraints: tuple[Constraint, ...] = ()
    indexes: tuple[Index, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    policies: tuple[Policy, ...] = ()
    row_security: dict[str, str] = field(default_factory=dict)  # table -> "enabled" or "forced"
    sequences: dict[str, Sequence] = field(default_factory=dict)
    views: dict[str, View] = field(default_factory=dict)
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    domains: dict[str, Domain] = field(default_factory=dict)
    functions: dict[str, str] = field(default_factory=dict)  # "name(identity args)" -> definition


_TABLE_KINDS = {"r": "table", "p": "partitioned table", "f": "foreign table"}


def display_name(schema: str, name: str) -> str:
    return name if schema == "public" else f"{schema}.{name}"


def take_snapshot(conn: psycopg.Connection, *, version_table: str = "alembic_version") -> Snapshot:
    """Read the user schema behind `conn`; nothing in the database changes."""
    # The catalog functions qualify names that are not on search_path, so pin it for
    # the duration; rolling back (to a savepoint if a transaction is open) restores the
    # caller's setting and guarantees the snapshot never writes.
    with conn.transaction(force_rollback=True):
        conn.execute("SELECT set_config('search_path', 'public', true)")

        def rows(query: str) -> list[tuple]:
            return conn.execute(query, {"version_table": version_table}).fetchall()

        snap = Snapshot(
            schemas=tuple(name for (name,) in rows(queries.SCHEMAS)),
            extensions=tuple(name for (name,) in rows(queries.EXTENSIONS)),
        )
        _read_relations(snap, rows(queries.RELATIONS))
        for schema, table, name, *values in rows(queries.COLUMNS):
            snap.tables[display_name(schema, table)].columns[name] = Column(*values)
        snap.constraints = tuple(
            Constraint(display_name(schema, table), name, kind, definition, tuple(columns))
            for schema, table, name, kind, definition, columns in rows(queries.CONSTRAINTS)
        )
        snap.indexes = tuple(
            # The name is compared nowhere: indexes are matched by what they index.
            Index(display_name(schema, table), name,
                  definition.replace(f" {quoted} ON ", " ON ", 1), tuple(columns))
            for schema, table, name, quoted, definition, columns in rows(queries.INDEXES)
        )
        snap.triggers = tuple(
            Trigger(display_name(schema, table), name, definition)
            for schema, table, name, definition in rows(queries.TRIGGERS)
        )
        snap.policies = tuple(
            Policy(display_name(schema, table), name, definition)
            for schema, table, name, definition in rows(queries.POLICIES)
        )
        snap.row_security = {display_name(schema, table): mode
                             for schema, table, mode in rows(queries.ROW_SECURITY)}
        for schema, name, *values, own_schema, own_table, own_column in rows(queries.SEQUENCES):
            owner = f"{display_name(own_schema, own_table)}.{own_column}" if own_column else None
            snap.sequences[display_name(schema, name)] = Sequence(*values, owned_by=owner)
        for schema, name, labels in rows(queries.ENUMS):
            snap.enums[display_name(schema, name)] = tuple(labels)
        for schema, name, base, nullable, default, checks in rows(queries.DOMAINS):
            snap.domains[display_name(schema, name)] = Domain(base, nullable, default, tuple(checks))
        for schema, name, arguments, definition in rows(queries.FUNCTIONS):
            snap.functions[f"{display_name(schema, name)}({arguments})"] = definition
    return snap


def _read_relations(snap: Snapshot, rows: list[tuple]) -> None:
    for schema, name, kind, comment, key, parent_schema, parent, bound, view_def in rows:
        if kind in ("v", "m"):
            snap.views[display_name(schema, name)] = View(kind == "m", view_def)
            continue
        snap.tables[display_name(schema, name)] = Table(
            kind=_TABLE_KINDS[kind],
            comment=comment,
            partition_key=key,
            partition_of=display_name(parent_schema, parent) if parent else None,
            partition_bound=bound,
        )
