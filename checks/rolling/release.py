"""The releases whose ORM statements are replayed: the previous one, read from git, and this one.

The previous release's tree is written from `git archive` into a temporary folder (nothing
is registered in the project's repository, so a killed run leaves nothing behind there)
and opened as a project of its own, whose code runs only in a process of the project's
Python: its models never meet this release's in one interpreter, nor the suite's.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

from checks.errors import ConfigError, ProjectError
from checks.project.agent import AgentFailure
from checks.project.project import Database, Project
from checks.project.remote import ProjectProcess
from checks.pullrequest.gitdiff import archive, merge_base

OPTION = "--previous-release"


class Unloadable(Exception):
    """The previous release's tree cannot be opened as a project, or its models not read."""


@contextlib.contextmanager
def previous_release(project: Project, reference: str, option: str = OPTION) -> Iterator[Project]:
    """The project as it was at `reference` (with --git-base, where it and HEAD meet: the
    release the change starts from), its code run in a process of its own; removed on exit."""
    top, resolved = merge_base(project.root, reference, option, merge=option != OPTION)
    folder = Path(tempfile.mkdtemp(prefix="alembic-preflight-release-"))
    try:
        _extract(archive(top, resolved, option), folder)
        old = _open(project, folder / project.root.relative_to(top), top, folder)
        try:
            yield old
        finally:
            if old.process is not None:
                old.process.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _extract(tar: bytes, folder: Path) -> None:
    with tarfile.open(fileobj=io.BytesIO(tar)) as bundle:
        if hasattr(tarfile, "data_filter"):
            bundle.extractall(folder, filter="data")
        else:  # pragma: no cover - Pythons before the filters; git's own archive, not a stranger's
            bundle.extractall(folder)  # noqa: S202


def _open(project: Project, root: Path, top: Path, folder: Path) -> Project:
    if not root.is_dir():
        raise Unloadable(f"{OPTION}: the previous release has no folder {root.relative_to(folder)}; "
                          "name a release that holds the project")
    ini = project.ini_path.resolve()
    if not ini.is_relative_to(top):
        raise ConfigError(f"{OPTION}: {ini} is outside the repository at {top}")
    old_ini = folder / ini.relative_to(top)
    if not old_ini.is_file():
        raise Unloadable(f"{OPTION}: the previous release has no {ini.relative_to(top)}; name a "
                          "release that migrates with Alembic")
    python = project.process.python if project.process is not None else sys.executable
    source = project.process.source if project.process is not None else "the suite's Python"
    try:
        old = Project(root, alembic_ini=str(old_ini), settings=project.settings,
                      metadata_override=project.metadata_override, python=python, python_source=source)
    except (ConfigError, ProjectError) as exc:
        raise Unloadable(str(exc)) from None
    if old.process is None:
        old.process = ProjectProcess(old, python, source)
    old.env.output = project.env.output
    old.env.default_database = project.env.default_database
    old.limits = project.limits
    return old


def statements(project: Project, database: Database, previous: bool) -> list[dict]:
    """What the project's models send per table (`projectside.rolling`), their target_metadata
    being what env.py passes once it has run on `database` (already migrated)."""
    where = {"metadata": project.metadata_override, "modules": list(project.settings.metadata_modules)}
    if project.process is None:
        from projectside.rolling import statements as compiled

        with project.env.active():
            return compiled(project.target_metadata())
    try:
        if previous:
            project.run_steps(database, [], upgrade=True)  # env.py's run names target_metadata
        return project.process.request("models_statements", **where)
    except ProjectError as exc:
        if previous:
            raise Unloadable(str(exc)) from None
        raise
    except AgentFailure as failure:
        said = f"its models cannot be read: {failure.details.get('message')}"
        raise Unloadable(said) if previous else ProjectError(f"the project's {said}") from None
