"""The project as a git commit had it: the history before a squash, in a throwaway folder."""

from __future__ import annotations

import contextlib
import io
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

from checks.errors import ConfigError
from checks.project.project import Project

OPTION = "--squash-check"


def _git(args: list[str], cwd: Path, what: str, text: bool = True):
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=text)
    except FileNotFoundError:
        raise ConfigError(f"{OPTION} reads the old history from git; install git") from None
    if proc.returncode != 0:
        stderr = (proc.stderr if text else proc.stderr.decode(errors="replace")).strip()
        raise ConfigError(f"{OPTION}: {what} ({stderr.splitlines()[-1] if stderr else 'git failed'})")
    return proc.stdout


@contextlib.contextmanager
def checkout(root: Path, reference: str) -> Iterator[Path]:
    """The project folder as `reference` has it, extracted from git into a temporary folder
    (the repository itself is left as it is); removed on exit."""
    top = Path(_git(["rev-parse", "--show-toplevel"], root, f"{root} is not inside a git repository; "
                    "squash-check reads the history before the squash from a commit").strip())
    commit = _git(["rev-parse", "--verify", "--quiet", f"{reference}^{{commit}}"], top,
                  f"no commit named {reference!r}; name the commit before the squash "
                  "(a branch, a tag, HEAD~1)").strip()
    archive = _git(["archive", "--format=tar", commit], top, f"cannot read {reference}", text=False)
    with tempfile.TemporaryDirectory(prefix="alembic-preflight-squash-") as folder:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
        yield Path(folder) / root.resolve().relative_to(top.resolve())


def old_project(project: Project, old_root: Path) -> Project:
    """The project at `old_root` (the same folder in the old commit), opened as `project` is."""
    # An alembic.ini outside the project folder is not in the old tree: the one in use serves.
    ini = old_root / project.ini_path.relative_to(project.root) \
        if project.ini_path.is_relative_to(project.root) else project.ini_path
    python = project.process.python if project.process is not None else None
    return Project(old_root, alembic_ini=str(ini), settings=project.settings, python=python)
