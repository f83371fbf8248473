"""`python -m checks upgrade [REV]`: apply pending revisions to the developer's database."""

from __future__ import annotations

import sys

from checks.commands.project_args import add_project_arguments, open_project
from checks.commands.target_args import add_target_arguments, local_target
from checks.recovery import revisions


def add_arguments(parser) -> None:
    parser.add_argument("revision", nargs="?", default="heads", help="where to go (default: heads)")
    add_project_arguments(parser)
    add_target_arguments(parser)


def run(args) -> int:
    project = open_project(args)
    target = local_target(args, "upgrade", project)
    steps = revisions.upgrade(project, target, args.revision)
    at = ", ".join(revisions.current(target)) or "base"
    applied = ", ".join(s.revision for s in steps) or "nothing (already there)"
    sys.stdout.write(f"upgrade: applied {applied}; {target.describe()} is now at {at}\n")
    return 0
