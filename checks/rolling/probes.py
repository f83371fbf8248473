"""A release's statements sent to a database with rows, in one transaction rolled back.

Per table, in the order an application's requests would send them: the SELECT and the
UPDATE of the row the drills' generator put there (its own values written back), an
INSERT of a second row like it (values that must be unique changed), and the DELETE of
that second row, so that no child row stands in the way. Each statement runs under a
savepoint of its own: one that fails does not hide what the next one does. The values are
read once, where the release ran (the schema before the new revisions), as text, and sent
as text that the statement's own casts turn into the column's type.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

KINDS = ("select", "update", "insert", "delete")


@dataclass(frozen=True)
class Failure:
    """What PostgreSQL said when a statement failed."""

    error: str
    sqlstate: str | None = None
    column: str | None = None
    table: str | None = None


SKIPPED = "skipped"  # not sent: no row to send it for, or the INSERT before it failed
OK = "ok"


@dataclass
class Table:
    """One mapped table of one release: its statements (`projectside.rolling`) and its row."""

    release: str  # "previous" or "new"
    entry: dict
    row: dict[str, str | None] | None = None  # column key -> value as text

    @property
    def name(self) -> str:
        return self.entry["table"]

    def statement(self, kind: str) -> dict | None:
        return self.entry.get(kind)


@dataclass
class Point:
    """Every statement's outcome at one point of the history: OK, SKIPPED or a Failure."""

    outcomes: dict[tuple[str, str, str], object] = field(default_factory=dict)


def incomplete(tables: list[Table]) -> list[Table]:
    """The tables whose row is not read yet, or lacked some of the models' columns when it was."""
    return [t for t in tables if t.row is None or any(c["key"] not in t.row for c in t.entry["columns"])]


def read_rows(conn: psycopg.Connection, tables: list[Table]) -> None:
    """Each table's first row, by the columns of the models that the table has now; a value
    read before is kept (the release's row is the one it saw)."""
    for table in tables:
        schema, name = table.entry["schema"], table.entry["name"]
        qualified = sql.SQL(".").join([sql.Identifier(part) for part in (schema, name) if part])
        oid = conn.execute("SELECT to_regclass(%s)::oid",
                           (qualified.as_string(conn),), prepare=False).fetchone()[0]
        if oid is None:
            continue
        present = {row[0] for row in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped",
            (oid,), prepare=False)}
        columns = [c for c in table.entry["columns"] if c["name"] in present]
        if not columns:
            continue
        query = sql.SQL("SELECT {} FROM {} LIMIT 1").format(
            sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c["name"])) for c in columns),
            qualified)
        found = conn.execute(query, prepare=False).fetchone()
        if found is not None:
            table.row = {c["key"]: value for c, value in zip(columns, found, strict=True)} | (table.row or {})


def send(conn: psycopg.Connection, tables: list[Table]) -> Point:
    """Every table's statements, in a transaction rolled back."""
    point = Point()
    with conn.transaction(force_rollback=True):
        for table in tables:
            for kind, outcome in _send_table(conn, table).items():
                point.outcomes[(table.release, table.name, kind)] = outcome
    return point


def _send_table(conn: psycopg.Connection, table: Table) -> dict[str, object]:
    outcomes: dict[str, object] = dict.fromkeys(KINDS, SKIPPED)
    row = table.row or {}
    # Without a row, by a key of NULL: no row matches, yet every column and table is named.
    for kind in ("select", "update"):
        if table.statement(kind) is not None:
            outcomes[kind], _ = _run(conn, table.statement(kind), lambda key, _pk: row.get(key))
    if table.row is None:
        return outcomes
    second = _second_row(table)
    outcomes["insert"], returned = _run(conn, table.statement("insert"), lambda key, _pk: second.get(key))
    if outcomes["insert"] == OK and returned is not None:
        keys = [c["key"] for c in table.entry["columns"] if c["primary_key"]]
        inserted = dict(zip(keys, returned, strict=False))
        outcomes["delete"], _ = _run(conn, table.statement("delete"), lambda key, _pk: inserted.get(key))
    return outcomes


def _run(conn: psycopg.Connection, statement: dict, value) -> tuple[object, tuple | None]:
    params = {name: value(spec["key"], spec["primary_key"]) for name, spec in statement["params"].items()}
    try:
        with conn.transaction():
            cursor = conn.execute(statement["sql"], params, prepare=False)
            returned = cursor.fetchone() if cursor.description else None
    except psycopg.Error as exc:
        diag = exc.diag
        said = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return Failure(said, exc.sqlstate, diag.column_name, diag.table_name), None
    return OK, returned


def _second_row(table: Table) -> dict[str, str | None]:
    """The row's values, those that must be unique changed (a key the database generates
    is left to it: the INSERT does not send it)."""
    values = dict(table.row or {})
    for column in table.entry["columns"]:
        value = values.get(column["key"])
        if value is None or not column["unique"] or column["foreign_key"]:
            continue
        if column["kind"] == "integer" and value.lstrip("-").isdigit():
            values[column["key"]] = str(int(value) + 1000)
        elif column["kind"] == "uuid":
            values[column["key"]] = str(uuid.uuid4())
        elif column["kind"] == "text":
            values[column["key"]] = f"{value} (2)"
    return values
