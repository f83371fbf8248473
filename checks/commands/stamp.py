"""`python -m checks stamp REV`: rewrite the version table without migrating, backup first.

The safe form of `UPDATE alembic_version SET version_num = ...` typed by hand: the
revision must exist in the scripts, the database is backed up, and the user asked.
"""

from __future__ import annotations

import sys

from checks.commands.project_args import add_project_arguments, open_project
from checks.commands.target_args import add_target_arguments, ask, guard, take_backup
from checks.recovery import revisions


def add_arguments(parser) -> None:
    parser.add_argument("revision", help="the revision the schema really is at (or heads, base)")
    add_project_arguments(parser)
    add_target_arguments(parser, destructive=True)


def run(args) -> int:
    project = open_project(args)
    target = guard(args, "stamp", f"stamp the database as {args.revision}", project)
    revisions.known(project, args.revision)
    was = ", ".join(revisions.current(target)) or "no revision"
    take_backup(args, target, "stamp")
    ask(args, "stamp", f"record {args.revision} in {target.describe()} (now {was}) without migrating")
    now = ", ".join(revisions.stamp(project, target, args.revision)) or "base"
    sys.stdout.write(f"stamp: {target.describe()} was at {was}, is now at {now}\n")
    return 0
