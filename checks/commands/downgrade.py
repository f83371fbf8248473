"""`python -m checks downgrade REV`: revert revisions on the developer's database, backup first."""

from __future__ import annotations

import sys

from checks.commands.project_args import add_project_arguments, open_project
from checks.commands.target_args import add_target_arguments, ask, guard, take_backup
from checks.recovery import revisions


def add_arguments(parser) -> None:
    parser.add_argument("revision", help="where to go: a revision id, or base")
    add_project_arguments(parser)
    add_target_arguments(parser, destructive=True)


def run(args) -> int:
    project = open_project(args)
    target = guard(args, "downgrade", f"downgrade the database to {args.revision}", project)
    steps = revisions.to_undo(project, target, args.revision)
    if not steps:
        sys.stdout.write(f"downgrade: {target.describe()} is already at {args.revision}\n")
        return 0
    take_backup(args, target, "downgrade")
    names = ", ".join(s.revision for s in steps)
    ask(args, "downgrade", f"revert {names} on {target.describe()} (their data may be lost)")
    revisions.downgrade(project, target, args.revision)
    at = ", ".join(revisions.current(target)) or "base"
    sys.stdout.write(f"downgrade: reverted {names}; {target.describe()} is now at {at}\n")
    return 0
