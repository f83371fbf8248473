"""history under data: the round trip again, with a row in every table at every step.

The roundtrip stage walks the history on empty tables, where a NOT NULL column without a
default, a cast that rejects a value or a seed row that collides all pass. Here, from head
down, each revision is downgraded, upgraded and downgraded again with every table holding
a row, and the rows of tables the revision does not drop must survive.
"""

from __future__ import annotations

from pathlib import Path

from alembic.script import Script

from checks import generated_rows as rows
from checks.drills.workspace import at_head, passed
from checks.errors import MigrationError
from checks.result import Finding, Severity
from checks.run import Run
from checks.stages.roundtrip import _floor_index

NAME = "history-under-data"


def drill(run: Run) -> list[Finding]:
    """A rollback or redeploy that only fails on real data fails on production, never in CI."""
    order = run.build().order
    order = order[_floor_index(run, order):]
    findings: list[Finding] = []
    with at_head(run, NAME) as space:
        for revision in reversed(order):
            for step, upgrade in (("downgrade", False), ("upgrade after downgrade", True),
                                  ("downgrade", False)):
                with space.connect() as conn:
                    rows.seed(conn, space.version_table)
                    before = rows.counts(conn, space.version_table)
                try:
                    run.project.run_steps(space.database, [revision], upgrade=upgrade)
                except MigrationError as exc:
                    if exc.declared_one_way:
                        return findings + [passed(NAME, f"walked down to {revision.revision}, which "
                                                        "declares its downgrade irreversible")]
                    return findings + [_failed(revision, step, exc)]
                with space.connect() as conn:
                    lost = rows.lost(before, rows.counts(conn, space.version_table))
                if lost:
                    findings.append(_lost(revision, step, lost))
    return findings or [passed(NAME, f"every one of {len(order)} revision(s) went down, up and down "
                                     "again with a row in every table, keeping the rows")]


def _failed(revision: Script, step: str, exc: MigrationError) -> Finding:
    name = Path(revision.path).name
    return Finding(Severity.ERROR, "fails-with-rows",
                   f"{step} of {revision.revision} ({name}) fails when the tables hold rows: {exc.db_error}",
                   revision=revision.revision, object=revision.path,
                   hint="it works on empty tables only: give a new NOT NULL column a server_default "
                        "(or add it nullable, fill it, then set NOT NULL), make casts accept existing "
                        "values (USING ...), and insert seed rows with ON CONFLICT DO NOTHING")


def _lost(revision: Script, step: str, lost: list[str]) -> Finding:
    return Finding(Severity.WARNING, "rows-lost",
                   f"{step} of {revision.revision} ({Path(revision.path).name}) deletes rows of tables "
                   f"it keeps: {', '.join(lost)}", revision=revision.revision, object=revision.path,
                   hint="if the revision means to delete them, say so in its message; if not, copy "
                        "them aside before recreating or narrowing the table")
