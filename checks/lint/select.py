"""Which revisions lint reads: the ones not released yet.

A revision in revisions.lock has run in production: its risk was taken when it shipped,
and the lock forbids editing it, so a finding there can only be suppressed, never fixed;
reporting it on every run buries the findings about the revision being written now.
`--lint-all` (or `lint.all = true`) reads the released ones again, e.g. after a new rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic.script import Script

from checks.lockfile import LOCK_NAME, lock_path, read_lock


@dataclass(frozen=True)
class Selection:
    revisions: list[Script]  # to lint, in history order
    released: int = 0  # skipped: recorded in the lock
    lock: Path | None = None  # the lock that was read; None when there is none
    lint_all: bool = False

    @property
    def ids(self) -> set[str]:
        return {script.revision for script in self.revisions}

    def summary(self) -> str:
        """The stage's word on what it read, so a clean lint is not mistaken for a full one."""
        linted = f"{len(self.revisions)} revision(s) linted"
        if self.lock is None:
            message = (f"{linted}: all of them, as there is no {LOCK_NAME}; once a release is cut, "
                       f"`python -m checks lock` records it and lint reads only newer revisions")
        elif self.lint_all:
            message = f"{linted}: all of them, released ones too (--lint-all or lint.all)"
        else:
            message = (f"{linted}; {self.released} released revision(s) in {self.lock.name} skipped "
                       "(--lint-all reads them too)")
        return message


def revisions_to_lint(order: list[Script], script_dir: str | Path, lint_all: bool = False) -> Selection:
    """The revisions of `order` lint reports on; other selections (a pull request's
    revisions, say) narrow `Selection.revisions` further."""
    path = lock_path(script_dir)
    if not path.is_file():
        return Selection(list(order))
    if lint_all:
        return Selection(list(order), lock=path, lint_all=True)
    released = read_lock(path)
    new = [script for script in order if script.revision not in released]
    return Selection(new, released=len(order) - len(new), lock=path)


def pull_request_summary(new: list[Script], scope) -> str:
    """A pull request's lint: its revisions only, their SQL as a deploy from the base writes it."""
    return (f"{len(new)} revision(s) linted: those added since {scope.base_point}, read as "
            "`alembic upgrade --sql` writes them from there")
