"""The migration that makes the history agree with a table or column made or dropped by hand.

reset-db also makes them agree, by throwing every row away. A revision that adopts the
object (`op.create_table`, `op.add_column`, taken from the live catalog), or records its
removal (`op.drop_table`, `op.drop_column`), keeps the data: every other server gets the
same schema from it, and this database, which has it already, is only stamped.
"""

from __future__ import annotations

import re

import sqlalchemy
from sqlalchemy.dialects.postgresql.base import ischema_names

from checks.schema import Snapshot
from checks.schema.snapshot import Column

_AFTER = ("add a revision (alembic revision -m '...') whose upgrade() is {op}; this database has "
          "that already, so record it here with `invoke stamp <the new revision>` instead of upgrading")


def migration_hint(obj: str, expected: Snapshot, live: Snapshot, made: bool) -> str | None:
    """The revision to write for a table or column only the database has (`made`), or only
    the migrations make; None for any other kind of object."""
    found = _locate(obj, live if made else expected)
    if found is None:
        return None
    table, schema, name, column = found
    if not made:
        args = [repr(name), *([repr(column)] if column else []), *_schema(schema)]
        op = f"op.{'drop_column' if column else 'drop_table'}({', '.join(args)})"
        return f"if it is meant to be gone, {_AFTER.format(op=op)}; if not, put it back by hand"
    unknown: list[str] = []
    columns = live.tables[table].columns
    if column is None:
        args = [_column(n, c, unknown) for n, c in columns.items()]
        key = next((c.columns for c in live.constraints if c.table == table and c.kind == "p"), ())
        if key:
            args.append(f"sa.PrimaryKeyConstraint({', '.join(map(repr, key))})")
        op, rows = f"op.create_table({', '.join([repr(name), *args, *_schema(schema)])})", "rows"
    else:
        args = [repr(name), _column(column, columns[column], unknown), *_schema(schema)]
        op, rows = f"op.add_column({', '.join(args)})", "values"
    types = f" (NullType stands for {', '.join(unknown)}: name its SQLAlchemy type)" if unknown else ""
    return (f"keep it and its {rows}: {_AFTER.format(op=op)}{types}; or, if nothing uses it, drop it "
            "(after `invoke backup`)")


def _locate(obj: str, snapshot: Snapshot) -> tuple[str, str | None, str, str | None] | None:
    """(table, its schema or None for public, its name, the column or None) of a table or
    column object in `snapshot`; None for anything else."""
    if obj.startswith("table "):
        table, column = obj.removeprefix("table "), None
        if table not in snapshot.tables:
            return None
    else:
        table, _, column = obj.rpartition(".")
        if " " in table or table not in snapshot.tables or column not in snapshot.tables[table].columns:
            return None
    schema, _, name = table.rpartition(".")
    return table, schema or None, name, column


def _schema(schema: str | None) -> list[str]:
    return [f"schema={schema!r}"] if schema else []


def _column(name: str, column: Column, unknown: list[str]) -> str:
    parts = [repr(name), _type(column.type, unknown)]
    if column.identity:
        parts.append(f"sa.Identity(always={column.identity == 'always'})")
    elif column.default is not None:
        parts.append(f"server_default=sa.text({column.default!r})")
    elif column.type in ("smallint", "integer", "bigint"):
        parts.append("autoincrement=False")  # else a one-column integer key becomes a serial
    if not column.nullable:
        parts.append("nullable=False")
    return f"sa.Column({', '.join(parts)})"


_TIME = re.compile(r"(timestamp|time)(?:\((\d+)\))? (with|without) time zone")


def _type(sql_type: str, unknown: list[str]) -> str:
    """The SQLAlchemy type for a catalog type name (format_type), as code; a type it cannot
    name (an enum, a domain) is NullType, and added to `unknown`."""
    timed = _TIME.fullmatch(sql_type)
    if timed:
        kind, precision, zone = timed.groups()
        args = [f"precision={precision}"] if precision else []
        args += ["timezone=True"] if zone == "with" else []
        return f"sa.{kind.upper()}({', '.join(args)})"
    array = sql_type.endswith("[]")
    base, _, args = sql_type.removesuffix("[]").partition("(")
    kind = ischema_names.get(base)
    if kind is None:
        unknown.append(sql_type)
        return "sa.types.NullType()"
    prefix = "sa" if hasattr(sqlalchemy, kind.__name__) else "postgresql"
    code = f"{prefix}.{kind.__name__}({args.rstrip(')')})"
    return f"postgresql.ARRAY({code})" if array else code
