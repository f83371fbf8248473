"""`python -m checks backup`: a pg_dump of the developer's database into the backups folder."""

from __future__ import annotations

import sys
from pathlib import Path

from checks.commands.target_args import add_target_arguments, local_target
from checks.recovery.backup import DEFAULT_FOLDER, backup


def add_arguments(parser) -> None:
    add_target_arguments(parser)
    parser.add_argument("--backups", default=str(DEFAULT_FOLDER),
                        help=f"folder for the dump (default: {DEFAULT_FOLDER})")


def run(args) -> int:
    target = local_target(args, "backup")
    made = backup(target, Path(args.backups))
    at = ", ".join(made.info().get("revisions") or []) or "no revision"
    sys.stdout.write(f"backup: {target.describe()} ({at}) -> {made.path}\n")
    return 0
