"""`python -m checks reset-db`: rebuild a developer's local database from the migrations.

The recovery for a dirty local database: drop it, create it empty, apply every
revision from base. Afterwards the database holds exactly what a fresh server would,
and nothing made by hand. What it held is backed up first, and the user is asked.
"""

from __future__ import annotations

import sys

from checks.commands.project_args import add_project_arguments, open_project
from checks.commands.target_args import add_target_arguments, ask, consent, guard, take_backup
from checks.project.project import Database
from checks.recovery.database import add_back_extensions, recreate
from checks.recovery.safety import clear_sessions


def add_arguments(parser) -> None:
    add_project_arguments(parser)
    add_target_arguments(parser, destructive=True)


def _tables(target) -> list[tuple[str, int]]:
    with target.connect() as conn:
        return conn.execute(
            "SELECT n.nspname || '.' || c.relname, GREATEST(c.reltuples, 0)::bigint FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1").fetchall()


def run(args) -> int:
    out = sys.stdout
    project = open_project(args)
    target = guard(args, "reset-db", "drop the database and rebuild it from the migrations", project)
    order = project.upgrade_order()  # a broken history fails here, before anything is dropped
    exists = target.exists()
    if exists:
        tables = _tables(target)
        out.write(f"reset-db: {target.describe()} holds {len(tables)} tables, about "
                  f"{sum(n for _, n in tables)} rows\n")
    take_backup(args, target, "reset-db")
    ask(args, "reset-db", f"drop {target.describe()} and rebuild it from {len(order)} revisions")
    disconnect = exists and clear_sessions(target, consent(args), "reset-db")
    state = recreate(target, disconnect=disconnect)  # owner, grants, settings, comment kept
    database = Database(target.server.endpoint, target.name)
    project.bootstrap(database)
    project.run_steps(database, order, upgrade=True)
    add_back_extensions(target, state, "reset-db", out)  # after: the migrations may create them
    heads = ", ".join(sorted(project.current_heads(database)))
    out.write(f"reset-db: rebuilt {target.name} from {len(order)} revisions; now at {heads}\n")
    return 0
