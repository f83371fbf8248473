"""behind: a database with rows, some revisions behind the scripts, is upgraded.

The everyday case after a pull or a deploy: `pending` must list exactly what
`upgrade` will apply, and the upgrade must succeed on tables that hold rows.
"""

from __future__ import annotations

from pathlib import Path

from checks import generated_rows as rows
from checks.drills.workspace import at_revision, passed
from checks.errors import MigrationError
from checks.recovery import revisions
from checks.result import Finding, Severity
from checks.run import Run

NAME = "behind"
BEHIND = 2  # revisions the database lags


def drill(run: Run) -> list[Finding]:
    """A revision that only fails on a table with rows fails at deploy, on production data."""
    order = run.build().order
    if len(order) < 1:
        return [passed(NAME, "no revisions: nothing can be behind")]
    # At least one revision applied, so there are tables to hold rows.
    lag = max(1, min(BEHIND, len(order) - 1))
    start = order[-lag - 1] if len(order) > lag else None
    expected = [rev.revision for rev in order[-lag:]]
    with at_revision(run, NAME, start) as space, space.connect() as conn:
        rows.seed(conn, space.version_table)
        before = rows.counts(conn, space.version_table)
        listed = [rev.revision for rev in revisions.pending(run.project, space.target)]
        if listed != expected:
            return [Finding(Severity.ERROR, "drill-behind",
                            f"{NAME} drill: pending lists {listed or 'nothing'}, but the database is "
                            f"behind by {expected}", hint="a bug in the pending task; please report it")]
        try:
            revisions.upgrade(run.project, space.target)
        except MigrationError as exc:
            return [Finding(Severity.ERROR, "upgrade-fails-with-rows",
                            f"upgrade of {exc.revision} ({Path(exc.path).name}) fails on a database "
                            f"whose tables hold rows: {exc.db_error}", revision=exc.revision,
                            object=exc.path,
                            hint="the revision assumes empty tables: give a new NOT NULL column a "
                                 "server_default (or add it nullable, fill it, then set NOT NULL), "
                                 "and make casts and seed inserts cope with existing rows")]
        lost = rows.lost(before, rows.counts(conn, space.version_table))
    if lost:
        return [Finding(Severity.ERROR, "drill-rows-lost",
                        f"{NAME} drill: upgrading {', '.join(expected)} lost rows in {', '.join(lost)}",
                        revision=expected[-1],
                        hint="an upgrade that deletes rows must say so in its message; if it should "
                             "keep them, copy them before dropping or recreating a table")]
    return [passed(NAME, f"pending listed {', '.join(expected)}; upgrade applied them with every row kept")]
