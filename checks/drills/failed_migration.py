"""failed migration: a revision that fails halfway must leave the database as it was.

PostgreSQL runs DDL in transactions, so a revision that fails (a lock timeout, a bad row)
is rolled back whole and the database stays at the previous revision with its rows: the
fix is to correct the revision and run `upgrade` again. That holds only while env.py runs
each revision in a transaction; statements that cannot (an `autocommit_block()`, CREATE
INDEX CONCURRENTLY) commit as they go and can leave a half-applied revision.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

from alembic.script import Script

from checks import generated_rows as rows
from checks.drills.workspace import at_revision, passed
from checks.errors import MigrationError
from checks.recovery import revisions
from checks.result import Finding, Severity
from checks.run import Run
from checks.schema import take_snapshot

NAME = "failed-migration"
_OUTSIDE_TRANSACTION = re.compile(r"autocommit_block|concurrently", re.IGNORECASE)


class _Injected(Exception):
    """The failure the drill causes after the revision's statements ran."""


def drill(run: Run) -> list[Finding]:
    """Without it, a failed deploy leaves a database nobody can say the state of."""
    order = run.build().order
    findings = [_outside_transaction(rev) for rev in order if _OUTSIDE_TRANSACTION.search(_source(rev))]
    if not order:
        return [passed(NAME, "no revisions")]
    head = order[-1]
    if findings and findings[-1].revision == head.revision:
        return findings  # head commits as it goes by design: the warning says what to check
    return findings + _fail_head(run, order)


def _fail_head(run: Run, order: list[Script]) -> list[Finding]:
    head = order[-1]
    previous = order[-2] if len(order) > 1 else None

    def fail(_revision, _connection) -> None:
        raise _Injected  # after every statement of the revision ran, before the commit

    with at_revision(run, NAME, previous) as space:
        with space.connect() as conn:
            rows.seed(conn, space.version_table)
        before, version = _state(space), revisions.current(space.target, run.project)
        # Whichever comes first, the revision's own failure on these rows or ours, must roll back.
        with contextlib.suppress(_Injected, MigrationError):
            run.project.run_steps(space.database, [head], upgrade=True, after_step=fail)
        after, version_after = _state(space), revisions.current(space.target, run.project)
    if version_after != version or after != before:
        return [Finding(Severity.ERROR, "failure-half-applied",
                        f"{NAME} drill: when the upgrade of {head.revision} ({Path(head.path).name}) fails "
                        f"at its end, the database keeps part of it (version row {version_after or 'none'}, "
                        f"expected {version or 'none'}): env.py does not run the revision in one transaction",
                        revision=head.revision, object="env.py",
                        hint="run migrations inside `with context.begin_transaction():` on a connection "
                             "that is not in autocommit (no isolation_level=\"AUTOCOMMIT\"); a failed "
                             "deploy then leaves the previous revision, and `upgrade` can simply rerun")]
    return [passed(NAME, f"an upgrade of {head.revision} failing at its end left the database at "
                         f"{', '.join(version) or 'base'} with its schema and rows")]


def _state(space) -> tuple:
    with space.connect() as conn:
        return rows.counts(conn, space.version_table), take_snapshot(conn, version_table=space.version_table)


def _source(revision: Script) -> str:
    try:
        return Path(revision.path).read_text(errors="replace")
    except OSError:
        return ""


def _outside_transaction(revision: Script) -> Finding:
    name = Path(revision.path).name
    return Finding(
        Severity.WARNING, "not-transactional",
        f"{revision.revision} ({name}) runs statements outside a transaction (autocommit_block or "
        "CONCURRENTLY): if it fails halfway, what ran before the failure stays and the version row "
        "does not move", revision=revision.revision, object=revision.path,
        hint="after a failure, check by hand before re-running: indexes left INVALID (SELECT "
             "indexrelid::regclass FROM pg_index WHERE NOT indisvalid; drop them), enum labels already "
             "added (\\dT+), and `invoke current`; make such statements idempotent (IF NOT EXISTS)")
