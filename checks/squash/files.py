"""Where the squashed revision files go (never deleted), and what to commit afterwards."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from checks.errors import ConfigError
from checks.lockfile import lock_path, read_lock
from checks.squash.plan import Plan

# Beside the versions folder, inside the scripts folder: a folder whose name starts with "_"
# is one the files stage does not look into for unread revision files.
DEFAULT_PARENT = "_squashed"


def archive_folder(script_dir: Path, locations: list[Path], plan: Plan, wanted: str | None) -> Path:
    """The folder the old files move to, checked: outside every version location (Alembic
    would read them again there), and holding none of their names yet."""
    folder = Path(wanted).resolve() if wanted else script_dir.resolve() / DEFAULT_PARENT / plan.point.revision
    for location in locations:
        if folder == location or location in folder.parents:
            raise ConfigError(f"--archive {folder}: inside the version location {location}, where Alembic "
                              "would load the old revisions again; name a folder outside it")
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"--archive {folder}: not a folder; name a new or empty folder")
    taken = [path.name for path in plan.paths if (folder / path.name).exists()]
    if taken:
        raise ConfigError(f"--archive {folder}: already holds {taken[0]}; name another folder")
    return folder


def move(plan: Plan, folder: Path) -> list[tuple[Path, Path]]:
    """Move each squashed file into `folder`; (from, to) for each."""
    folder.mkdir(parents=True, exist_ok=True)
    moved = []
    for path in plan.paths:
        target = folder / path.name
        os.replace(path, target)  # same file system as a rule; else shutil.move's copy
        moved.append((path, target))
    return moved


def git_lines(moved: list[tuple[Path, Path]], base: Path, root: Path) -> list[str]:
    """The commands that commit the squash: the old paths go, the base and the archive come."""
    def shown(path: Path) -> str:
        return shlex.quote(os.path.relpath(path, root))

    gone = [shown(old) for old, _ in moved if old != base]
    archive = {new.parent for _, new in moved}
    lines = [f"git rm --cached --quiet -- {' '.join(gone)}"] if gone else []
    lines.append(f"git add -- {shown(base)} {' '.join(shown(folder) for folder in sorted(archive))}")
    return lines


def relock_line(script_dir: Path, plan: Plan) -> str | None:
    """The lock command to run when revisions.lock locked the revision whose file changed."""
    if plan.point.revision not in read_lock(lock_path(script_dir)):
        return None
    return f"python -m checks lock --relock {plan.point.revision}"
