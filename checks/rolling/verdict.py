"""Which statement a revision breaks, and the expand/contract way to ship the change instead.

The previous release's statements are judged where they worked on that release's own
schema: the first revision after which one fails is the one that breaks the release still
running while (and after) the migration runs. This release's statements, with code
deployed before the migration, are judged where they work at the new head: one that fails
on the previous schema needs the first revision after which it works.
"""

from __future__ import annotations

import re
from pathlib import Path

from alembic.script import Script

from checks.project.source_lines import def_line
from checks.result import Finding, Severity
from checks.rolling.probes import OK, Failure, Point, Table

_WHAT = {"select": "SELECT (loading a row)", "update": "UPDATE by primary key",
         "insert": "INSERT (a new row)", "delete": "DELETE by primary key"}

# PostgreSQL's SQLSTATE codes the hints tell apart.
UNDEFINED_COLUMN, UNDEFINED_TABLE, NOT_NULL = "42703", "42P01", "23502"
WRONG_TYPE = ("42804", "22P02", "42883", "22001", "22003")
CONSTRAINT = ("23503", "23505", "23514", "23P01")


def previous_findings(tables: list[Table], points: list[tuple[Script | None, Point]]) -> list[Finding]:
    """The previous release's statements each revision breaks."""
    base = points[0][1]
    findings = []
    for table in (t for t in tables if t.release == "previous"):
        for kind in _kinds(table):
            key = ("previous", table.name, kind)
            if base.outcomes.get(key) != OK:
                continue  # it never worked here: the release's own drift, not the migration's doing
            for revision, point in points[1:]:
                outcome = point.outcomes.get(key)
                if isinstance(outcome, Failure):
                    findings.append(_broken(table, kind, revision, outcome))
                    break
    return findings


def new_findings(tables: list[Table], points: list[tuple[Script | None, Point]]) -> list[Finding]:
    """This release's statements that fail before the revision they need is applied."""
    head = points[-1][1]
    findings = []
    for table in (t for t in tables if t.release == "new"):
        for kind in _kinds(table):
            key = ("new", table.name, kind)
            outcome = points[0][1].outcomes.get(key)
            if head.outcomes.get(key) != OK or not isinstance(outcome, Failure):
                continue
            needed = next(revision for revision, point in points[1:] if point.outcomes.get(key) == OK)
            findings.append(_too_early(table, kind, needed, outcome))
    return findings


def unjudged(tables: list[Table], points: list[tuple[Script | None, Point]]) -> list[str]:
    """Statements that failed where their own release runs, as "the previous release's
    SELECT, UPDATE on tags (column tags.label does not exist)"."""
    where = {"previous": points[0][1], "new": points[-1][1]}
    found = []
    for table in tables:
        failed = {kind: where[table.release].outcomes.get((table.release, table.name, kind))
                  for kind in _kinds(table)}
        failed = {kind: outcome for kind, outcome in failed.items() if isinstance(outcome, Failure)}
        if failed:
            whose = "the previous release's" if table.release == "previous" else "this release's"
            first = next(iter(failed.values()))
            found.append(f"{whose} {', '.join(kind.upper() for kind in failed)} on {table.name} "
                         f"({first.error})")
    return found


def _kinds(table: Table) -> list[str]:
    return [kind for kind in _WHAT if table.statement(kind) is not None]


def _broken(table: Table, kind: str, revision: Script, failure: Failure) -> Finding:
    said = (f"after {revision.revision} ({Path(revision.path).name}), the previous release's {_WHAT[kind]} "
            f"on {table.name} fails: {failure.error}")
    return _finding("breaks-previous-release", said, table, kind, revision, hint(failure, kind))


def _too_early(table: Table, kind: str, revision: Script, failure: Failure) -> Finding:
    said = (f"this release's {_WHAT[kind]} on {table.name} fails until {revision.revision} "
            f"({Path(revision.path).name}) is applied: {failure.error}")
    return _finding("needs-migration-first", said, table, kind, revision,
                    "with code deployed before the migration, this release must work on the schema "
                    "before it: ship the revision (expand: new columns nullable or with a server_default, "
                    "new tables) in a release of its own first, or migrate before the code rolls out")


def _finding(code: str, said: str, table: Table, kind: str, revision: Script, fix: str) -> Finding:
    return Finding(Severity.ERROR, code, f"{said}; it sends: {_one_line(table.statement(kind)['sql'])}",
                   revision=revision.revision, object=table.name, file=revision.path,
                   line=def_line(revision.path, "upgrade"), hint=fix)


def hint(failure: Failure, kind: str) -> str:
    """The expand/contract way to ship what broke the running release."""
    column = f" {failure.column}" if failure.column else ""
    if failure.sqlstate == NOT_NULL:
        return (f"the previous release does not set{column}: add it nullable or with a server_default "
                "first (expand), backfill it, and set NOT NULL (or drop the default) only in a later "
                "release, once no running code inserts without it")
    if failure.sqlstate == UNDEFINED_COLUMN:
        return ("the previous release still uses a column this revision drops or renames: first ship "
                "code that stops using it (and a revision that does not touch it), then drop it in a "
                "later release (contract); a rename is add the new column, backfill, switch the code "
                "to it, and only then drop the old one")
    if failure.sqlstate == UNDEFINED_TABLE:
        return ("the previous release still uses a table this revision drops or renames: stop using it "
                "in a release first, drop it in a later one; rename as a new table (or a view under "
                "the old name) kept in step until no running code reads the old name")
    if failure.sqlstate in WRONG_TYPE:
        return ("the previous release's values no longer fit the column: change a type as add a column "
                "of the new type, write both, backfill, switch reads, then drop the old column")
    if failure.sqlstate in CONSTRAINT:
        return ("the previous release's writes break a new constraint: ship code that satisfies it "
                "first, then add the constraint (NOT VALID, then VALIDATE) in a later release")
    return (f"the running release's {kind} must keep working while and after the migration runs: "
            "split the change into an expand revision (additive only) shipped before the code that "
            "needs it, and a contract revision after no running code uses what it removes")


def _one_line(statement: str, limit: int = 300) -> str:
    text = re.sub(r"\s+", " ", statement).strip()
    return text if len(text) <= limit else text[:limit - 3] + "..."
