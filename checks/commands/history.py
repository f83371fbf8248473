"""`python -m checks history`: the project's revisions, newest first."""

from __future__ import annotations

import sys

from checks.commands.project_args import add_project_arguments, open_project
from checks.recovery import revisions


def add_arguments(parser) -> None:
    add_project_arguments(parser)


def describe(script) -> str:
    down = script.down_revision
    down = ", ".join(down) if isinstance(down, tuple) else (down or "<base>")
    head = " (head)" if script.is_head else ""
    return f"{down} -> {script.revision}{head}, {script.doc or ''}".rstrip(", ")


def run(args) -> int:
    for script in revisions.history(open_project(args)):
        sys.stdout.write(describe(script) + "\n")
    return 0
