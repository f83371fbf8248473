"""What the fresh stage says about the measured locks: a warning per revision and table that
other sessions would wait on, a note where a lock could not be seen, and one line for all.

A lock that blocks writes (SHARE and stronger) or reads and writes (ACCESS EXCLUSIVE) on a
table that existed before the revision is a warning. Held while the table is rewritten or
scanned in full, the wait grows with the table's size: the JUnit report fails that
revision's case (`JUNIT_FAILURES`). Held briefly, for a change of the catalog only, it is
still a wait: behind the lock queue of a busy table, every query waits with it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from checks.measure.locks import ACCESS_EXCLUSIVE, Mode, strongest
from checks.measure.risk import RevisionRisk, TableRisk
from checks.result import Finding, Severity

LOCK, REWRITE, SCAN = "deploy-lock", "deploy-rewrite", "deploy-scan"
# Warnings that still fail their revision's JUnit case: the lock is held for as long as a
# pass over every row takes.
JUNIT_FAILURES = (REWRITE, SCAN)

# What each statement that rewrote or scanned a table is, told from its SQL (whole words:
# a column named checksum is no CHECK), and its fix; the first kind that matches names it.
_HINTS = (
    ("INDEX", r"^\s*CREATE\s+(UNIQUE\s+)?INDEX\b",
     "build the index CONCURRENTLY inside op.get_context().autocommit_block() "
     "(op.create_index(..., postgresql_concurrently=True)): writes go on while it builds"),
    ("SET NOT NULL", r"\bSET\s+NOT\s+NULL\b",
     "add CHECK (column IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT it in a later revision "
     "(SHARE UPDATE EXCLUSIVE: reads and writes go on), then SET NOT NULL: PostgreSQL 12+ "
     "skips the scan where such a constraint proves it"),
    ("FOREIGN KEY", r"\bFOREIGN\s+KEY\b|\bREFERENCES\b",
     "add the foreign key NOT VALID and VALIDATE CONSTRAINT it in a later revision: "
     "validating takes SHARE UPDATE EXCLUSIVE, which lets reads and writes go on"),
    ("PRIMARY KEY", r"\bPRIMARY\s+KEY\b|\bUNIQUE\b",
     "build its unique index CONCURRENTLY inside op.get_context().autocommit_block(), then add the "
     "constraint USING INDEX (ALTER TABLE ... ADD CONSTRAINT ... PRIMARY KEY USING INDEX ...): that "
     "step reads no row where its columns are NOT NULL already"),
    ("CHECK", r"\bCHECK\s*\(",
     "add the constraint NOT VALID and VALIDATE CONSTRAINT it in a later revision: validating takes "
     "SHARE UPDATE EXCLUSIVE, which lets reads and writes go on"),
    ("TYPE", r"\bALTER\s+COLUMN\s+\S+\s+(SET\s+DATA\s+)?TYPE\b",
     "a type PostgreSQL cannot change in place rewrites the table: add a column of the new type, "
     "backfill it in batches and switch over, or run the revision in a maintenance window"),
    ("DEFAULT", r"\bDEFAULT\b",
     "a volatile default fills every existing row: add the column without it, set the default "
     "afterwards, and backfill in batches"),
    ("SELECT", r"^\s*(WITH|SELECT|UPDATE|DELETE|INSERT|MERGE)\b",
     "the revision's data migration reads every row while the revision holds the lock its schema "
     "change took: move the data migration to a revision of its own, or update in batches"),
)
_KINDS = tuple((name, re.compile(pattern, re.IGNORECASE)) for name, pattern, _ in _HINTS)
# Where the statements behind it are of several kinds, the fix that comes first here.
_FIRST = ("SET NOT NULL", "FOREIGN KEY", "PRIMARY KEY", "CHECK", "INDEX", "TYPE", "DEFAULT", "SELECT")
_GENERAL = ("set lock_timeout on the migration's session (the lock_timeout setting) so that a lock it cannot "
            "get at once fails the deploy instead of queueing every query behind it")


def warnings(risks: list[RevisionRisk],
             where: Callable[[str], tuple[str | None, int | None]]) -> list[Finding]:
    """`where`: a revision's file and the line of its upgrade() (asked only of revisions with
    something to say: finding the line reads the file). A lock held for a
    catalog change alone, taken with a lock_timeout in force, is a note: it cannot keep
    queries queued behind it for longer than that."""
    found = []
    for risk in risks:
        for table in risk.tables:
            lock = table.lock
            if lock is None or not lock.blocks_writes:
                continue
            file, line = where(risk.revision)
            code, message = _what(risk.revision, table)
            severity = Severity.INFO if code == LOCK and not table.unbounded else Severity.WARNING
            found.append(Finding(severity, code, message, revision=risk.revision, object=table.table,
                                 hint=_hint(table, code), file=file, line=line))
    return found


def _what(revision: str, table: TableRisk) -> tuple[str, str]:
    lock = table.lock
    took = ("needs ACCESS EXCLUSIVE (for its rewrite; an earlier revision of the same transaction already "
            "held it)" if table.implied else f"takes {lock.sql}")
    waits = "reads and writes of it" if lock.blocks == "reads and writes" else "writes to it (reads go on)"
    if table.scanned_while_held:
        return SCAN, (f"revision {revision} reads every row of {table.table} (a full scan to validate or "
                      f"build) while its transaction holds {lock.sql} on it from an earlier revision, which "
                      f"stops {waits}: the wait grows with the table's size")
    if table.hidden and not table.implied:
        # What it was seen taking is a floor: the lock it changed the table under is stronger.
        held = strongest(table.held)
        took = (f"takes at least {lock.sql} (the {held.sql} an earlier revision of the same transaction "
                "holds on it may be the one it needs)")
        if held == ACCESS_EXCLUSIVE:
            waits = "writes to it, and perhaps reads"
    said = f"revision {revision} {took} on {table.table}, which stops {waits}"
    during = table.rewritten_holding
    if table.rewritten and during is not None and during.blocks_writes:
        rewritten = ", ".join(sorted(table.rewritten))
        return REWRITE, (f"{said}, and rewrites {rewritten} while {_holding(during, lock)}: the wait grows "
                         "with the table's size")
    during = table.scanned_holding
    if table.scans and during is not None and during.blocks_writes:
        return SCAN, (f"{said}, and reads every row of it while {_holding(during, lock)} (a full scan to "
                      "validate or build): the wait grows with the table's size")
    return LOCK, f"{said} until the revision commits"


def _holding(during: Mode, lock: Mode) -> str:
    return "holding it" if during == lock else f"holding {during.sql}"


def _hint(table: TableRisk, code: str) -> str:
    """The fix of the statements behind the rewrite or the scan (where no statement was
    captured, of all the table's); the lock_timeout advice where none of them is known."""
    if code == LOCK:
        return _GENERAL
    behind = table.rewrite_texts if code == REWRITE else table.scan_texts
    kinds = {kind for text in behind or table.texts for kind in [_kind(text)] if kind}
    hints = {name: hint for name, _, hint in _HINTS}
    return next((hints[name] for name in _FIRST if name in kinds), _GENERAL)


def _kind(text: str) -> str | None:
    return next((name for name, pattern in _KINDS if pattern.search(text)), None)


def hidden_note(risks: list[RevisionRisk]) -> Finding | None:
    """Where env.py runs the walk in one transaction, a lock an earlier revision took is held
    already when a later one needs it again, and pg_locks shows it once."""
    hidden = [(risk.revision, table.table) for risk in risks for table in risk.tables
              if table.hidden and not table.implied]
    if not hidden:
        return None
    revisions = sorted({revision for revision, _ in hidden}, key=[r.revision for r in risks].index)
    named = ", ".join(revisions[:5]) + (f" and {len(revisions) - 5} more" if len(revisions) > 5 else "")
    return Finding(
        Severity.INFO, "locks-not-measured",
        f"{len(revisions)} revision(s) ({named}) changed tables while the build's transaction still held "
        "the locks an earlier revision took on them: env.py runs every revision in one transaction, so "
        "which lock each of them needs cannot be measured (rewrites and scans still are)",
        hint="pass transaction_per_migration=True to context.configure in env.py: each revision then commits "
             "and releases its locks as it is deployed, and its own locks are measured")


def summary(risks: list[RevisionRisk], found: list[Finding]) -> str:
    """One line for the console without -v."""
    blocking = {f.revision for f in found if f.code in (LOCK, REWRITE, SCAN)}
    long = {f.revision for f in found if f.code in JUNIT_FAILURES}
    if not risks:
        return "deploy risk: nothing measured"
    text = (f"deploy risk: {len(blocking)} of {len(risks)} revision(s) block writes or reads on tables that "
            f"existed before them")
    if long:
        text += f", {len(long)} of them while rewriting or scanning the table"
    return text + ("; -v lists each revision's locks" if blocking else "")
