"""`python -m checks pending`: what an upgrade would apply to the developer's database."""

from __future__ import annotations

import sys

from checks.commands.history import describe
from checks.commands.project_args import add_project_arguments, open_project
from checks.commands.target_args import add_target_arguments
from checks.recovery import revisions
from checks.recovery.target import Target
from checks.recovery.target_url import announce


def add_arguments(parser) -> None:
    add_project_arguments(parser)
    add_target_arguments(parser)


def run(args) -> int:
    project = open_project(args)
    target = Target.resolve(args.url, project)
    steps = revisions.pending(project, target)
    announce("pending", target, sys.stderr)  # stdout: the list, for scripts
    if not steps:
        sys.stdout.write(f"pending: none; {target.describe()} is up to date\n")
    for script in steps:
        sys.stdout.write(describe(script) + "\n")
    return 0
