"""Which revisions a pull request adds: the ones walked, linted and round-tripped.

The base is closed under ancestry: a revision belongs to it only if all it stands on does,
so the walk of the new revisions always starts from a database the base fully built.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from alembic.script import Script

from checks.errors import ConfigError
from checks.project.project import Project
from checks.result import Finding, Severity


@dataclass
class Trust:
    """How the base got into the database, for the report."""

    base: int  # revisions in the base
    total: int  # revisions in the history
    trusted: int = 0  # restored from the cache instead of applied
    key: str | None = None  # the cache key, when a cache is used
    stored: bool = False  # this run wrote the cache entry
    warnings: list[str] = field(default_factory=list)  # cache entries ignored, and why
    failed: str | None = None  # the base revision that failed to apply

    def sentence(self) -> str:
        if self.failed:
            return (f"the base did not apply: revision {self.failed} failed (see fresh); "
                    f"none of the {self.total - self.base} new revision(s) was judged")
        if self.trusted:
            return (f"trusted {self.trusted} of {self.total} revisions from the cache "
                    f"(key {short_key(self.key)})")
        how = f"applied the base's {self.base} of {self.total} revisions in one pass"
        if self.stored:
            how += f", cached for the next run (key {short_key(self.key)})"
        return how

    def to_json(self) -> dict:
        return {"base_revisions": self.base, "total_revisions": self.total,
                "trusted_from_cache": self.trusted, "cache_key": self.key, "cache_stored": self.stored,
                "cache_warnings": list(self.warnings), "base_failed": self.failed}


def short_key(key: str | None) -> str:
    return (key or "")[:16]


@dataclass
class Scope:
    mode: str  # "since" or "git-base"
    reference: str  # REV or REF as given
    base_point: str  # what the base is, in words: "revision abc", "main (merge-base 1234abcd)"
    base: frozenset[str]  # revisions trusted as released: applied in one pass, never judged
    new: list[str]  # the revisions walked step by step, in upgrade order
    edited: list[Script] = field(default_factory=list)  # released revisions whose file changed
    cache: object | None = None  # a BaseCache, when --cache (or the setting) names one
    trust: Trust | None = None  # filled by the build

    def describe(self) -> str:
        return (f"{len(self.new)} new revision(s) since {self.base_point}, "
                f"{len(self.base)} in the base")

    def to_json(self) -> dict:
        return {"mode": self.mode, "reference": self.reference, "base_point": self.base_point,
                "new_revisions": list(self.new), "base_revisions": len(self.base),
                "edited_released": [s.revision for s in self.edited],
                **({"cache": self.trust.to_json()} if self.trust else {})}


def parents(script: Script) -> tuple[str, ...]:
    """What a revision stands on: its down revisions and its depends_on."""
    everything = getattr(script, "_all_down_revisions", None)
    if everything is None:  # pragma: no cover - every Alembic we support has it
        everything = tuple(script._versioned_down_revisions)
    return tuple(everything)


def closed_base(order: list[Script], candidates: Iterable[str]) -> frozenset[str]:
    """The candidates whose every ancestor is a candidate too (`order`: parents first)."""
    allowed = set(candidates)
    base: set[str] = set()
    for script in order:
        if script.revision in allowed and all(p in base for p in parents(script)):
            base.add(script.revision)
    return frozenset(base)


def since(project: Project, reference: str) -> Scope:
    """`--since REV`: REV and its ancestors are the base; every other revision is new."""
    order = project.upgrade_order()
    with project.env.active():
        try:
            found = project.script.get_revision(reference)
        except Exception as exc:  # noqa: BLE001 - Alembic's unknown, ambiguous or malformed id
            found, why = None, str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        else:
            why = "no such revision"
    if found is None:
        raise ConfigError(f"--since {reference}: {why}; give a revision id (or a unique prefix) "
                          "from `alembic history`")
    by_id = {s.revision: s for s in order}
    ancestors, todo = set(), [found.revision]
    while todo:
        revision = todo.pop()
        if revision not in ancestors and revision in by_id:
            ancestors.add(revision)
            todo += parents(by_id[revision])
    base = closed_base(order, ancestors)
    return Scope("since", reference, f"revision {found.revision}", base,
                 [s.revision for s in order if s.revision not in base])


def select_new(order: list[Script], scope: Scope | None) -> list[Script]:
    """The revisions a stage judges: the new ones in a pull-request run, else all of them.

    The lint stage's selection; another may narrow the list before or after this one.
    """
    if scope is None:
        return order
    return [script for script in order if script.revision not in scope.base]


def edited_findings(scope: Scope | None, locked: Iterable[str] = ()) -> list[Finding]:
    """A released revision whose file the pull request changes (the lock reports its own)."""
    if scope is None:
        return []
    skip = set(locked)
    return [Finding(
        Severity.WARNING, "released-revision-edited",
        f"{Path(script.path).name} (revision {script.revision}) existed at {scope.base_point} and the "
        "change edits it: databases that already ran it will not get the edit, so it is walked and "
        "round-tripped as new", revision=script.revision, object=script.path, file=script.path,
        hint="put the change in a new revision (alembic revision -m '...'); `python -m checks lock` "
             "records released revisions so that every run fails on such an edit")
        for script in scope.edited if script.revision not in skip]


def base_findings(scope: Scope | None) -> list[Finding]:
    """Notes for the fresh stage: how much of the history it proved, and how much it trusted."""
    if scope is None or scope.trust is None:
        return []
    trust = scope.trust
    notes = [Finding(Severity.INFO, "base-from-cache" if trust.trusted else "base-one-pass",
                     f"{trust.sentence()}; {len(scope.new)} new revision(s) walked one at a time")]
    notes += [Finding(Severity.INFO, "cache-entry-ignored", warning,
                      hint="nothing to do for this run, which did not rely on it; if it repeats, "
                           "clear the cache folder") for warning in trust.warnings]
    return notes
