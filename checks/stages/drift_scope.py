"""What the catalog comparison of the drift stage looks at: what autogenerate would.

env.py tells autogenerate what to leave alone (`include_object`, `include_name`,
`include_schemas`). The catalog comparison must leave the same things alone, or it
reports as drift the PostGIS tables, the partitions and the legacy schemas a project
has deliberately excluded. Kinds of object SQLAlchemy models cannot declare (views,
functions, triggers, row-level security, grants made with `op.execute`) are compared only
when the models do declare some of that kind themselves, through DDL events.

The filters are the project's and run where its models live (`projectside.scope.Filters`,
here or in the project's own Python); a schema that holds nothing on either side (the
version table's, say) is left out here.
"""

from __future__ import annotations

import functools

from checks.schema.scope import Scope, objects_in_schema
from checks.schema.snapshot import Constraint, Index, Snapshot

# Kinds a models database holds only when the models attach DDL for them.
DDL_ONLY_KINDS = ("views", "functions", "triggers", "policies", "privileges")


def drift_scope(filters, models: Snapshot, head: Snapshot) -> Scope:
    """The scope both snapshots are narrowed to before they are compared; `filters` answers
    as `projectside.scope.Filters` does."""

    @functools.cache  # asked once per object; counting a schema's objects reads them all
    def schema(name: str) -> bool:
        if objects_in_schema(head, name) == 0 and objects_in_schema(models, name) == 0:
            return False  # e.g. a schema that holds only the version table
        return filters.schema(name)

    def index(item: Index) -> bool:
        return filters.named(item.table, item.name, "index", item.columns)

    def constraint(item: Constraint) -> bool:
        return filters.named(item.table, item.name, item.kind, item.columns)

    left_out = frozenset(kind for kind in DDL_ONLY_KINDS if not _declared(models, kind))
    return Scope(schema=schema, table=filters.table, column=filters.column, index=index,
                 constraint=constraint, left_out=left_out)


def _declared(models: Snapshot, kind: str) -> bool:
    if kind == "privileges":  # a GRANT, or an ALTER DEFAULT PRIVILEGES
        return bool(models.privileges or models.default_privileges)
    return bool(getattr(models, kind))
