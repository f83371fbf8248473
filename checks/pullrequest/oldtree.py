"""The project as a git commit had it: the ref resolved, its tree extracted, the project opened there.

Three options name such a commit: `--git-base` (the merge base a change starts from),
`--previous-release` (the release still running) and `--squash-check` (the history before a
squash). The tree is written from `git archive` into a temporary folder: nothing is
registered in the project's repository, so a killed run leaves nothing behind there. Each
message names the option that named the commit, and says what to do about it.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from checks.errors import ConfigError, ProjectError
from checks.project.project import Project
from checks.project.remote import ProjectProcess


@dataclass(frozen=True)
class _Words:
    commit: str  # what the option's ref names, in a message
    outside: str  # what to do when the project is in no git repository
    unknown: str  # what to do when the ref names no commit ({reference} is filled in)
    no_git: str  # what to do without git


WORDS = {
    "--git-base": _Words("the base", "run from a clone, or name the base revision with --since REV",
                         "fetch it first (git fetch origin {reference}, or actions/checkout with "
                         "fetch-depth: 0)", "install git, or use --since REV"),
    "--previous-release": _Words("the previous release", "run from a clone of the project's repository",
                                 "name the tag or commit production runs, and fetch it first (git "
                                 "fetch origin {reference}, or actions/checkout with fetch-depth: 0)",
                                 "install git"),
    "--squash-check": _Words("the commit before the squash", "squash-check reads the history before the "
                             "squash from a commit", "name the commit before the squash (a branch, a tag, "
                             "HEAD~1)", "install git"),
}


class Unloadable(ProjectError):
    """The commit's tree cannot be opened as a project, or its code not read."""


def git(args: list[str], cwd: Path, what: str, option: str, text: bool = True):
    """git's output; a failure is one line naming `option` and `what` went wrong."""
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=text,
                              errors="replace" if text else None)
    except FileNotFoundError:
        raise ConfigError(f"{option} reads commits with git, which is not on PATH; "
                          f"{WORDS[option].no_git}") from None
    if proc.returncode != 0:
        stderr = proc.stderr if text else proc.stderr.decode(errors="replace")
        said = stderr.strip().splitlines()
        raise ConfigError(f"{option}: {what}" + (f" ({said[-1]})" if said else ""))
    return proc.stdout


def resolve(root: Path, reference: str, option: str, merge: bool = False) -> tuple[Path, str]:
    """The repository's top folder and the commit `reference` names (with `merge`: the commit
    it and HEAD share). Cheap: run before any server starts, and again where it is used."""
    words = WORDS[option]
    top = Path(git(["rev-parse", "--show-toplevel"], root, f"{root} is not inside a git repository; "
                   f"{words.outside}", option).strip()).resolve()
    named = git(["rev-parse", "--verify", "--quiet", f"{reference}^{{commit}}"], top,
                f"no commit named {reference!r}; {words.unknown.format(reference=reference)}", option).strip()
    if not merge:
        return top, named
    commit = git(["merge-base", reference, "HEAD"], top,
                 f"{reference!r} and HEAD share no history; fetch more of it (fetch-depth: 0)",
                 option).strip()
    return top, commit


@dataclass(frozen=True)
class Tree:
    """A commit's tree, extracted: `folder` holds what the repository's `top` holds there."""

    top: Path
    folder: Path
    commit: str

    def at(self, path: Path) -> Path:
        """`path` (inside the repository) as the commit has it."""
        return self.folder / path.resolve().relative_to(self.top)


@contextlib.contextmanager
def extracted(root: Path, reference: str, option: str, merge: bool = False) -> Iterator[Tree]:
    """The tree of the commit `reference` names (see `resolve`) in a temporary folder, removed on exit."""
    top, commit = resolve(root, reference, option, merge)
    tar = git(["archive", "--format=tar", commit], top, f"cannot read the tree of {commit[:12]}", option,
              text=False)
    with tempfile.TemporaryDirectory(prefix="alembic-preflight-tree-", ignore_cleanup_errors=True) as folder:
        with tarfile.open(fileobj=io.BytesIO(tar)) as bundle:
            if hasattr(tarfile, "data_filter"):
                bundle.extractall(folder, filter="data")
            else:  # pragma: no cover - Pythons before the filters; git's own archive, not a stranger's
                bundle.extractall(folder)  # noqa: S202
        yield Tree(top, Path(folder), commit)


@contextlib.contextmanager
def opened(project: Project, reference: str, option: str, merge: bool = False,
           own_process: bool = False) -> Iterator[Project]:
    """`project` as the commit `reference` names had it, opened with the same settings and
    Python. `own_process`: its code runs in a process of its own even when the project's runs
    in the suite's, so that its modules never meet the project's in one interpreter."""
    with extracted(project.root, reference, option, merge) as tree:
        old = _open(project, tree, reference, option, own_process)
        try:
            yield old
        finally:
            if old.process is not None:
                old.process.close()


def _open(project: Project, tree: Tree, reference: str, option: str, own_process: bool) -> Project:
    said = f"{option}: {WORDS[option].commit} ({reference})"
    root = tree.at(project.root)
    if not root.is_dir():
        raise Unloadable(f"{said} has no folder {root.relative_to(tree.folder)}; name a commit that "
                         "holds the project")
    ini = project.ini_path.resolve()
    if ini.is_relative_to(tree.top):
        old_ini = tree.at(ini)
        if not old_ini.is_file():
            raise Unloadable(f"{said} has no {ini.relative_to(tree.top)}; name a commit that migrates "
                             "with Alembic")
    else:
        old_ini = ini  # outside the repository no commit has its own: the one in use serves
    python = project.process.python if project.process is not None else None
    source = project.process.source if project.process is not None else "the suite's Python"
    if own_process and python is None:
        python = sys.executable
    try:
        old = Project(root, alembic_ini=str(old_ini), settings=project.settings,
                      metadata_override=project.metadata_override, python=python, python_source=source)
    except (ConfigError, ProjectError) as exc:
        raise Unloadable(str(exc)) from None
    if old.process is None and own_process:
        old.process = ProjectProcess(old, python, source)
    old.env.output = project.env.output
    old.env.default_database = project.env.default_database
    old.limits = project.limits
    return old
