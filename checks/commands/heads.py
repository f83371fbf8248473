"""`python -m checks heads`: the project's head revision(s)."""

from __future__ import annotations

import sys

from checks.commands.history import describe
from checks.commands.project_args import add_project_arguments, open_project
from checks.recovery import revisions


def add_arguments(parser) -> None:
    add_project_arguments(parser)


def run(args) -> int:
    for script in revisions.heads(open_project(args)):
        sys.stdout.write(describe(script) + "\n")
    return 0
