"""What to write for a difference only the catalog comparison sees.

Autogenerate did not report it, so `alembic revision --autogenerate` would not write it
either: the fix is an operation written by hand in a new revision, and for server
defaults, alternatively, autogenerate's own comparison turned on.
"""

from __future__ import annotations

from checks.schema import SchemaDifference, Snapshot
from checks.schema.compare_privileges import privilege_statement
from checks.schema.scope import schema_of

NEW_REVISION = "alembic revision -m '<what changed>'"


def catalog_fix(diff: SchemaDifference, models: Snapshot, head: Snapshot, options: dict) -> str:
    """The hint of a catalog-only finding: the operation that makes the migrated schema
    (`head`) what the models describe."""
    kind, _, name = diff.object.rpartition(" ")
    code = _code(kind, name, diff, models, head)
    where = f"autogenerate does not see this difference: write {code} in a new revision ({NEW_REVISION})"
    if diff.property == "default" and not kind and not options.get("compare_server_default"):
        where += (", or set compare_server_default=True in env.py's context.configure() and run "
                  "alembic revision --autogenerate")
    return where


def _code(kind: str, name: str, diff: SchemaDifference, models: Snapshot, head: Snapshot) -> str:
    statement = privilege_statement(diff, models, head)
    if statement:
        return f'op.execute("{statement}")'
    if not kind:  # a column: "items.qty", "app.items.qty"
        table, _, column = name.rpartition(".")
        found = models.tables.get(table)
        model = found.columns.get(column) if found is not None else None
        if diff.property == "default" and model is not None:
            value = f"sa.text({model.default!r})" if model.default is not None else "None"
            return f'op.alter_column({_table_args(table)}, "{column}", server_default={value})'
        if diff.property == "nullable" and model is not None:
            return f'op.alter_column({_table_args(table)}, "{column}", nullable={model.nullable})'
        return (f'op.execute("ALTER TABLE {table} ALTER COLUMN {column} ...") giving it the models\' '
                f"{diff.property}")
    if kind == "enum" and diff.property == "labels":
        missing = [label for label in models.enums.get(name, ()) if label not in head.enums.get(name, ())]
        if missing:
            return " and ".join(f"op.execute(\"ALTER TYPE {name} ADD VALUE '{label}'\")" for label in missing)
        return (f"a recreation of the type {name} (PostgreSQL cannot drop a label: rename it, create it "
                "anew, ALTER COLUMN ... TYPE ... USING, drop the old one)")
    if kind == "check constraint":
        return _check_constraint(name, diff, models)
    if kind == "sequence" and diff.property == "exists":
        verb = "Create" if name in models.sequences else "Drop"
        return f'op.execute(sa.schema.{verb}Sequence(sa.Sequence("{name}")))'
    return f'op.execute("...") with the SQL that makes {diff.object} what the models describe'


def _check_constraint(name: str, diff: SchemaDifference, models: Snapshot) -> str:
    table, _, constraint = name.rpartition(".")
    found = next((c for c in models.constraints if c.table == table and c.name == constraint), None)
    drop = f'op.drop_constraint("{constraint}", {_table_args(table)}, type_="check")'
    if found is None:
        return drop
    # pg_get_constraintdef: "CHECK ((qty >= 0))"; the condition is what the outer parentheses hold.
    condition = found.definition.removeprefix("CHECK ").removesuffix(" NOT VALID")[1:-1]
    create = f'op.create_check_constraint("{constraint}", {_table_args(table)}, "{condition}")'
    return create if diff.property == "exists" else f"{drop} then {create}"


def _table_args(table: str) -> str:
    schema = schema_of(table)
    bare = table.rpartition(".")[2]
    return f'"{bare}"' if schema == "public" else f'"{bare}", schema="{schema}"'
