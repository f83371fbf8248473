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
from checks.recovery.contents import contents
from checks.recovery.database import add_back_extensions, recreate
from checks.recovery.safety import clear_sessions


def add_arguments(parser) -> None:
    add_project_arguments(parser)
    add_target_arguments(parser, destructive=True)


def run(args) -> int:
    out = sys.stdout
    project = open_project(args)
    target = guard(args, "reset-db", "drop the database and rebuild it from the migrations", project)
    order = project.upgrade_order()  # a broken history fails here, before anything is dropped
    exists = target.exists()
    held = contents(target) if exists else "nothing yet"
    if exists:
        out.write(f"reset-db: {target.describe()} holds {held}\n")
    take_backup(args, target, "reset-db")
    ask(args, "reset-db", f"drop {target.describe()} ({held}) and rebuild it from {len(order)} revisions")
    disconnect = exists and clear_sessions(target, consent(args), "reset-db")
    state = recreate(target, disconnect=disconnect)  # owner, grants, settings, comment kept
    database = Database(target.server.endpoint, target.name)
    project.bootstrap(database)
    project.run_steps(database, order, upgrade=True)
    add_back_extensions(target, state, "reset-db", out)  # after: the migrations may create them
    heads = ", ".join(sorted(project.current_heads(database)))
    out.write(f"reset-db: rebuilt {target.name} from {len(order)} revisions; now at {heads}\n")
    return 0
