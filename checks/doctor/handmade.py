"""The live schema against what the migrations build at the database's own revision.

Whatever differs was done by hand (a table created in psql, a column dropped, an index
added to fix a slow query) and will be missing on every other server: the classic
"works on my laptop".
"""

from __future__ import annotations

from checks.doctor.adopt import migration_hint
from checks.doctor.live import without_grants
from checks.result import Finding, Severity
from checks.schema import SchemaDifference, Snapshot, diff_snapshots

_HINT_EXTRA = ("write a migration that creates it (alembic revision -m '...'), or drop it "
               "if nothing uses it")
_HINT_MISSING = "it was dropped by hand: recreate it, or write the migration that drops it"
_HINT_CHANGED = "changed by hand: write a migration for the change, or put it back"


def handmade_findings(at: str, expected: Snapshot, live: Snapshot, ignore: frozenset[str]) -> list[Finding]:
    expected, live = without_grants(expected), without_grants(live)
    differences = diff_snapshots(expected, live, expected_label=f"migrations at {at}",
                                 actual_label="database", ignore=ignore)
    revision = None if at == "base" else at
    if not differences:
        return [Finding(Severity.INFO, "as-migrated", f"the schema is exactly what the migrations "
                        f"build at {at}")]
    return [_finding(d, revision, expected, live) for d in differences]


def _finding(difference: SchemaDifference, revision: str | None, expected: Snapshot,
             live: Snapshot) -> Finding:
    if difference.property != "exists":
        return Finding(Severity.WARNING, "changed-by-hand", difference.message, revision=revision,
                       object=difference.object, hint=_HINT_CHANGED)
    if "missing in database" in difference.message:
        return Finding(Severity.WARNING, "missing-in-database", difference.message, revision=revision,
                       object=difference.object,
                       hint=migration_hint(difference.object, expected, live, made=False) or _HINT_MISSING)
    return Finding(Severity.WARNING, "made-by-hand", difference.message, revision=revision,
                   object=difference.object,
                   hint=migration_hint(difference.object, expected, live, made=True) or _HINT_EXTRA)
