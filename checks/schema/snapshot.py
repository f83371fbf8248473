"""One picture of a database's user schema, read from pg_catalog in a fixed number of queries.

Objects are keyed by display name: `users` for the public schema, `app.users` elsewhere.
Values are PostgreSQL's own renderings (format_type, pg_get_expr, pg_get_*def), so two
databases built from equivalent DDL read the same; `checks.schema.diff` decides which
remaining differences are real.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg


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


@dataclass(frozen=True, order=True)
class Privilege:
    """A grant on an object beyond what its owner and PUBLIC have by default, or one of
    those defaults revoked. Who granted it is not compared: it is the owner, by any road."""

    kind: str  # what GRANT names: "table", "view", "sequence", "column", "function", "schema", ...
    name: str  # the object's display name: "orders", "orders.total", "f(integer)", "app"
    grantee: str  # a role's name, or "PUBLIC"
    privilege: str  # "SELECT", "EXECUTE", "USAGE", ...
    grantable: bool  # WITH GRANT OPTION
    revoked: bool = False

    def describe(self) -> str:
        """In the words of the statement that makes it: "grant SELECT on table orders to reporting"."""
        return _words(self.revoked, self.privilege, f"{self.kind} {self.name}", self.grantee)

    def statement(self, give: bool = True) -> str:
        """The GRANT or REVOKE that makes it so (`give`), or that undoes it."""
        if self.kind == "column":
            table, _, column = self.name.rpartition(".")
            on = f"{self.privilege} ({column}) ON TABLE {table}"
        else:
            kind = "TABLE" if "table" in self.kind or "view" in self.kind else self.kind.upper()
            on = f"{self.privilege} ON {kind} {self.name}"
        return _statement(give != self.revoked, on, self.grantee)


@dataclass(frozen=True, order=True)
class DefaultPrivilege:
    """What ALTER DEFAULT PRIVILEGES gives the objects `role` creates from then on."""

    role: str
    schema: str | None  # None: in every schema
    objects: str  # "tables", "sequences", "functions", "types" or "schemas"
    grantee: str
    privilege: str
    grantable: bool
    revoked: bool = False

    def describe(self) -> str:
        where = f" in schema {self.schema}" if self.schema else ""
        return "default privilege: " + _words(self.revoked, self.privilege,
                                              f"{self.objects} created by {self.role}{where}", self.grantee)

    def statement(self, give: bool = True) -> str:
        where = f" IN SCHEMA {self.schema}" if self.schema else ""
        on = f"{self.privilege} ON {self.objects.upper()}"
        return f"ALTER DEFAULT PRIVILEGES FOR ROLE {self.role}{where} " + _statement(give != self.revoked, on,
                                                                                     self.grantee)


def _statement(grant: bool, on: str, grantee: str) -> str:
    return f"GRANT {on} TO {grantee}" if grant else f"REVOKE {on} FROM {grantee}"


def _words(revoked: bool, privilege: str, on: str, grantee: str) -> str:
    if revoked:
        return f"revoke {privilege} on {on} from {grantee}"
    return f"grant {privilege} on {on} to {grantee}"


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
    privileges: tuple[Privilege, ...] = ()  # on tables, views, sequences, columns, functions, schemas
    default_privileges: tuple[DefaultPrivilege, ...] = ()


def display_name(schema: str, name: str) -> str:
    return name if schema == "public" else f"{schema}.{name}"


def take_snapshot(conn: psycopg.Connection, *, version_table: str = "alembic_version") -> Snapshot:
    """Read the user schema behind `conn`; nothing in the database changes."""
    from checks.schema.catalog import Catalog  # it builds on the types above

    catalog = Catalog()
    catalog.read(conn, version_table, everything=True)
    return catalog.snapshot()
