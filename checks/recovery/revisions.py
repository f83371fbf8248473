"""Where the target database is in the project's history, and moving it: the Alembic verbs.

Upgrades and downgrades run through the project's own env.py (Project.run_steps), which
also refuses an env.py that connects anywhere but the target. Stamp writes only the
version table, through Alembic's own MigrationContext.stamp.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from alembic.runtime.migration import MigrationContext
from alembic.script import Script
from alembic.util import CommandError
from sqlalchemy import create_engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from checks.doctor.revision import unknown_revision
from checks.errors import ConfigError, VerifyError
from checks.project.project import Database, Project
from checks.recovery.backup import recorded_revisions
from checks.recovery.grants import missing_grant
from checks.recovery.target import Target


def database(target: Target) -> Database:
    return Database(target.server.endpoint, target.name)


def current(target: Target, project: Project | None = None) -> list[str]:
    """The revision(s) the version table records; [] for a database never migrated.

    With the project, its own version table (env.py's version_table and
    version_table_schema, once env.py has run); else Alembic's default.
    """
    if project is None:
        return recorded_revisions(target)
    captured = project.captured
    return recorded_revisions(target, captured.version_table, captured.options.get("version_table_schema"))


def known_current(project: Project, target: Target) -> list[str]:
    """The revision(s) the version table records, refused in one line when one names a
    revision no file declares: Alembic cannot step from it ("Can't locate revision")."""
    at = current(target, project)
    with project.env.active():
        unknown = [rev for rev in at if not _in_history(project, rev)]
    if unknown:
        table = project.captured.version_table
        raise UnknownRevisionError(f"{target.describe()}: {unknown_revision(table, unknown[0])}; "
                                   "`invoke doctor` finds the revision the schema matches and the "
                                   "stamp that repairs it")
    return at


class UnknownRevisionError(VerifyError):
    """The database is at a revision the project has no file for: a finding (exit 1), as in doctor."""


@contextlib.contextmanager
def _resolving(rev: str) -> Iterator[None]:
    try:
        yield
    except CommandError as exc:
        raise ConfigError(f"cannot go to revision {rev!r}: {exc}; `invoke history` lists the "
                          "revisions") from None


def heads(project: Project) -> list[Script]:
    with project.env.active():
        return [project.script.get_revision(h) for h in project.script.get_heads()]


def history(project: Project) -> list[Script]:
    """Every revision, newest first (as `alembic history` prints them)."""
    return list(reversed(project.upgrade_order()))


def pending(project: Project, target: Target, rev: str = "heads") -> list[Script]:
    """The revisions an upgrade to `rev` would apply, in the order it applies them."""
    at = tuple(known_current(project, target)) or "base"
    with project.env.active(), _resolving(rev):
        return list(reversed(list(project.script.iterate_revisions(rev, at))))


def upgrade(project: Project, target: Target, rev: str = "heads") -> list[Script]:
    steps = pending(project, target, rev)
    if steps:
        project.run_steps(database(target), steps, upgrade=True)
    return steps


def to_undo(project: Project, target: Target, rev: str) -> list[Script]:
    """The revisions a downgrade to `rev` reverts, newest first."""
    at = tuple(known_current(project, target))
    if not at:
        raise ConfigError(f"{target.describe()} has no version table: there is nothing to downgrade")
    with project.env.active(), _resolving(rev):
        return list(project.script.iterate_revisions(at, rev))


def downgrade(project: Project, target: Target, rev: str) -> list[Script]:
    steps = to_undo(project, target, rev)
    if steps:
        project.run_steps(database(target), steps, upgrade=False)
    return steps


def known(project: Project, rev: str) -> None:
    """Fail, naming where to look, unless the scripts know `rev`."""
    with project.env.active(), _resolving(rev):
        project.script.get_revisions(rev)


def _in_history(project: Project, revision: str) -> bool:
    try:
        return project.script.get_revision(revision) is not None
    except CommandError:
        return False


@contextlib.contextmanager
def _privileged(target: Target, what: str) -> Iterator[None]:
    """A privilege the role lacks, as one line naming the grant (the transaction rolled back)."""
    try:
        yield
    except DBAPIError as exc:
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        role = target.server.endpoint.user
        missing = missing_grant(str(exc.orig), role, writes=True) if code == "42501" else None
        if missing is None:
            raise
        kind, name, grant = missing
        raise ConfigError(f"{what} on {target.describe()}: the role {role} may not change {kind} {name}: "
                          f"{grant} (or run as its owner); nothing was changed") from None


def stamp(project: Project, target: Target, rev: str) -> list[str]:
    """Record `rev` in the version table without running any migration; returns the new heads."""
    known(project, rev)  # before any write
    engine = create_engine(database(target).url, poolclass=NullPool)
    try:
        with _privileged(target, "stamp"), engine.begin() as conn, project.env.active(), _resolving(rev):
            # The project's own version table (env.py may name it or put it in a schema).
            options = {key: value for key, value in project.captured.options.items()
                       if key in ("version_table", "version_table_schema") and value}
            context = MigrationContext.configure(conn, opts=options)
            if any(not _in_history(project, head) for head in context.get_current_heads()):
                # The row names a revision no file has (the "Can't locate revision" incident):
                # Alembic cannot step from it, so it goes, as `alembic stamp --purge` does.
                conn.execute(context._version.delete())
            context.stamp(project.script, rev)
    finally:
        engine.dispose()
    return current(target, project)
