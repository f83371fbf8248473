"""`--git-base REF`: the revisions a branch adds, read from the project's git repository.

A revision file is new when its path did not exist at `git merge-base REF HEAD` and its
content is not a file of that commit under another name (a move is not a change);
an edited one existed there with other content. Untracked files count as added, so a
revision not yet committed is judged too. Content is compared by git's blob hashes:
one `git ls-tree` of the base commit and one `git hash-object` of the current files.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from checks.errors import ConfigError
from checks.project.project import Project
from checks.pullrequest.scope import Scope, closed_base


def _git(args: list[str], cwd: Path, what: str, option: str = "--git-base", text: bool = True):
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=text,
                              errors="replace" if text else None)
    except FileNotFoundError:
        raise ConfigError(f"{option} needs git on PATH; install git, or use --since REV") from None
    if proc.returncode != 0:
        stderr = proc.stderr if text else proc.stderr.decode(errors="replace")
        reason = (stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
        raise ConfigError(f"{option}: {what} ({reason})")
    return proc.stdout


def merge_base(root: Path, reference: str, option: str = "--git-base",
               merge: bool = True) -> tuple[Path, str]:
    """The repository's top folder and the commit REF and HEAD share (REF's own, without `merge`)."""
    inside = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=root, capture_output=True,
                            text=True, errors="replace")
    if inside.returncode != 0:
        raise ConfigError(f"{option} {reference}: {root} is not inside a git repository; "
                          "run from a clone, or name the base revision with --since REV")
    top = Path(inside.stdout.strip()).resolve()
    named = _git(["rev-parse", "--verify", "--quiet", f"{reference}^{{commit}}"], top,
                 f"no commit named {reference!r}; fetch it first (git fetch origin {reference}, or "
                 "actions/checkout with fetch-depth: 0)", option).strip()
    if not merge:
        return top, named
    commit = _git(["merge-base", reference, "HEAD"], top,
                  f"{reference!r} and HEAD share no history; fetch more of it (fetch-depth: 0)",
                  option).strip()
    return top, commit


def archive(top: Path, commit: str, option: str) -> bytes:
    """The tree of `commit` as a tar archive (`git archive`)."""
    return _git(["archive", "--format=tar", commit], top, f"cannot read the tree of {commit[:12]}",
                option, text=False)


def git_base(project: Project, reference: str, option: str = "--git-base", merge: bool = True) -> Scope:
    order = project.upgrade_order()
    top, commit = merge_base(project.root, reference, option, merge)
    paths = {s.revision: Path(s.path).resolve() for s in order}
    outside = [str(p) for p in paths.values() if not p.is_relative_to(top)]
    if outside:
        raise ConfigError(f"{option}: revision file {outside[0]} is outside the repository at {top}; "
                          "use --since REV for this layout")
    folders = sorted({p.parent.relative_to(top).as_posix() for p in paths.values()})
    old = _tree(top, commit, folders)
    current = dict(zip(paths, _hashes(top, list(paths.values())), strict=True))
    unchanged, edited = set(), []
    for script in order:
        relative = paths[script.revision].relative_to(top).as_posix()
        blob = current[script.revision]
        if old.get(relative) == blob or (relative not in old and blob in old.values()):
            unchanged.add(script.revision)
        elif relative in old:
            edited.append(script)
    base = closed_base(order, unchanged)
    point = f"{reference} (merge-base {commit[:12]})"
    return Scope("git-base", reference, point, base, [s.revision for s in order if s.revision not in base],
                 edited=edited)


def _tree(top: Path, commit: str, folders: list[str]) -> dict[str, str]:
    """path -> blob hash of every file under `folders` at `commit`."""
    if not folders:
        return {}
    listing = _git(["ls-tree", "-r", "-z", commit, "--", *folders], top, f"cannot list {commit[:12]}")
    blobs = {}
    for entry in filter(None, listing.split("\0")):
        meta, _, path = entry.partition("\t")
        blobs[path] = meta.split()[2]
    return blobs


def _hashes(top: Path, files: list[Path]) -> list[str]:
    if not files:
        return []
    return _git(["hash-object", "--", *map(str, files)], top, "cannot hash the revision files").split()
