"""Where the database stands in the history: up to date, behind, on a branch, unknown."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from alembic.script import Script, ScriptDirectory

from checks.result import Finding, Severity


@dataclass
class Position:
    versions: tuple[str, ...] | None  # the version rows; None: no version table
    heads: tuple[str, ...]  # the scripts' heads
    unknown: tuple[str, ...] = ()  # version rows no revision file declares
    applied: set[str] = field(default_factory=set)  # revisions the version rows imply
    pending: list[Script] = field(default_factory=list)  # in upgrade order

    @property
    def known(self) -> bool:
        """The version rows name revisions the scripts have, so the history says what is applied."""
        return self.versions is not None and not self.unknown

    @property
    def up_to_date(self) -> bool:
        return self.known and not self.pending


def locate(script: ScriptDirectory, order: list[Script], versions: tuple[str, ...] | None) -> Position:
    position = Position(versions, tuple(sorted(script.get_heads())))
    if versions is None:
        return position
    position.unknown = tuple(v for v in versions if _lookup(script, v) is None)
    if position.unknown:
        return position
    position.applied = _ancestry(script, versions)
    position.pending = [rev for rev in order if rev.revision not in position.applied]
    return position


def _lookup(script: ScriptDirectory, revision: str) -> Script | None:
    try:
        return script.get_revision(revision)
    except Exception:  # noqa: BLE001 - alembic raises several kinds for an unknown id
        return None


def _ancestry(script: ScriptDirectory, versions: tuple[str, ...]) -> set[str]:
    """Every revision a version row stands for: itself, its parents and its dependencies."""
    seen: set[str] = set()
    todo = list(versions)
    while todo:
        rev = _lookup(script, todo.pop())
        if rev is None or rev.revision in seen:
            continue
        seen.add(rev.revision)
        for parent in (*_as_tuple(rev.down_revision), *_as_tuple(rev.dependencies)):
            todo.append(parent)
    return seen


def _as_tuple(value) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def unknown_revision(version_table: str, revision: str) -> str:
    return (f"{version_table} says {revision}, which no revision file declares (a deleted or renamed "
            "file, a branch not merged here, or a database ahead of this checkout)")


def revision_findings(position: Position, version_table: str, command: Callable[..., str]) -> list[Finding]:
    """A database behind its scripts fails at the first query of new code; one at a revision
    the scripts do not know stops every `alembic upgrade` with "Can't locate revision"."""
    heads = ", ".join(position.heads) or "base (no revisions)"
    found: list[Finding] = []
    if len(position.heads) > 1:
        found.append(Finding(Severity.WARNING, "multiple-heads",
                             f"the scripts have {len(position.heads)} heads: {heads}",
                             hint=f"merge them: alembic merge -m 'merge heads' {' '.join(position.heads)}"))
    if position.versions is None:
        found.append(Finding(Severity.ERROR, "no-version-table",
                             f"the database has no {version_table} table: Alembic never ran here, "
                             "or the table was dropped", object=version_table,
                             hint="see the match below: stamp the revision the schema matches, or "
                                  f"`{command('upgrade')}` if the database is empty"))
        return found
    if position.unknown:
        for revision in position.unknown:
            found.append(Finding(Severity.ERROR, "unknown-revision",
                                 unknown_revision(version_table, revision),
                                 revision=revision, object=version_table))
        return found
    at = ", ".join(position.versions) or "base (empty version table)"
    if not position.pending:
        found.append(Finding(Severity.INFO, "up-to-date", f"at {at}: the head ({heads})"))
        return found
    if len(position.versions) > 1:
        found.append(Finding(Severity.WARNING, "on-branches",
                             f"the database is on {len(position.versions)} branches at once: {at}"))
    found.append(Finding(Severity.WARNING, "behind",
                         f"at {at}, {len(position.pending)} revision(s) behind the "
                         f"head{'s' * (len(position.heads) > 1)} ({heads})",
                         hint=command("upgrade")))
    for rev in position.pending:
        message = (rev.doc or "").strip().splitlines()[0] if (rev.doc or "").strip() else "(no message)"
        found.append(Finding(Severity.WARNING, "pending", f"pending {rev.revision}: {message}",
                             revision=rev.revision))
    return found
