"""`python -m checks current`: the revision(s) the developer's database is at."""

from __future__ import annotations

import sys

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
    target = Target.resolve(args.url, project)  # reading is safe anywhere
    at = revisions.known_current(project, target)
    announce("current", target, sys.stderr)  # stdout: the revision, for scripts
    heads = {s.revision for s in revisions.heads(project)}
    if not at:
        sys.stdout.write(f"current: {target.describe()} has no version table (never migrated; "
                         "`invoke upgrade` applies every revision)\n")
        return 0
    for rev in at:
        sys.stdout.write(f"{rev}{' (head)' if rev in heads else ''}\n")
    return 0
