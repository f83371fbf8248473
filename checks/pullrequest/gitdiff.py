"""`--git-base REF`: the revisions a branch adds, read from the project's git repository.

A revision file is new when its path did not exist at `git merge-base REF HEAD` and its
content is not a file of that commit under another name (a move is not a change);
an edited one existed there with other content. Untracked files count as added, so a
revision not yet committed is judged too. Content is compared by git's blob hashes:
one `git ls-tree` of the base commit and one `git hash-object` of the current files.
"""

from __future__ import annotations

from pathlib import Path

from checks.errors import ConfigError
from checks.project.project import Project
from checks.pullrequest.oldtree import git, resolve
from checks.pullrequest.scope import Scope, closed_base


def git_base(project: Project, reference: str, option: str = "--git-base", merge: bool = True) -> Scope:
    order = project.upgrade_order()
    top, commit = resolve(project.root, reference, option, merge)
    paths = {s.revision: Path(s.path).resolve() for s in order}
    outside = [str(p) for p in paths.values() if not p.is_relative_to(top)]
    if outside:
        raise ConfigError(f"{option}: revision file {outside[0]} is outside the repository at {top}; "
                          "use --since REV for this layout")
    folders = sorted({p.parent.relative_to(top).as_posix() for p in paths.values()})
    old = _tree(top, commit, folders, option)
    current = dict(zip(paths, _hashes(top, list(paths.values()), option), strict=True))
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


def _tree(top: Path, commit: str, folders: list[str], option: str) -> dict[str, str]:
    """path -> blob hash of every file under `folders` at `commit`."""
    if not folders:
        return {}
    listing = git(["ls-tree", "-r", "-z", commit, "--", *folders], top, f"cannot list {commit[:12]}", option)
    blobs = {}
    for entry in filter(None, listing.split("\0")):
        meta, _, path = entry.partition("\t")
        blobs[path] = meta.split()[2]
    return blobs


def _hashes(top: Path, files: list[Path], option: str) -> list[str]:
    if not files:
        return []
    return git(["hash-object", "--", *map(str, files)], top, "cannot hash the revision files", option).split()
