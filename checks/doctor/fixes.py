"""The commands doctor's fix lines name: the tasks that back up first, on the database it read.

Not raw `alembic stamp`: that writes to whatever database env.py reads, takes no backup
and asks nothing. The task resolves its database by the same order doctor did, so
without --url nothing needs repeating; with one, it is shown with the password hidden.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from checks.doctor.target import Target
from checks.project.project import Project


def fix_command(project: Project, target: Target, *words: str) -> str:
    """`invoke stamp 0002 --project app` as the user would type it where they ran doctor."""
    root = project.root
    ini_found = project.ini_path in (root / "alembic.ini", root / "migrations" / "alembic.ini")
    # invoke's tasks take no --alembic-ini; the command of the same name does.
    cmd = ["invoke" if ini_found else "alembic-preflight", *words]
    if root != Path.cwd().resolve():
        cmd += ["--project", _shown(root)]
    if not ini_found:
        cmd += ["--alembic-ini", _shown(project.ini_path)]
    if target.source == "--url":
        cmd += ["--url", target.url.render_as_string(hide_password=True)]
    return shlex.join(cmd)


def _shown(path: Path) -> str:
    relative = os.path.relpath(path)
    return path.as_posix() if relative.startswith("..") else relative
