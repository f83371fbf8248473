"""Where the squashed revision files go (never deleted), and what to commit afterwards."""

from __future__ import annotations

import os
import shlex
import shutil
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
    existing = next(path for path in (folder, *folder.parents) if path.exists())
    if not existing.is_dir():
        raise ConfigError(f"--archive {folder}: {existing} is a file, not a folder; name a new or "
                          "empty folder")
    taken = [path.name for path in plan.paths if (folder / path.name).exists()]
    if taken:
        raise ConfigError(f"--archive {folder}: already holds {taken[0]}; name another folder")
    return folder


def move(plan: Plan, folder: Path) -> list[tuple[Path, Path]]:
    """Move each squashed file into `folder`; (from, to) for each."""
    moved = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for path in plan.paths:
            target = folder / path.name
            shutil.move(path, target)  # a rename, or a copy then a delete across file systems
            moved.append((path, target))
    except OSError as exc:
        raise ConfigError(f"--archive {folder}: cannot move {Path(exc.filename or folder).name} there "
                          f"({exc.strerror}); {len(moved)} file(s) were moved before it and nothing was "
                          "written: move them back (git checkout -- the versions folder), fix it, and "
                          "run squash again") from None
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
