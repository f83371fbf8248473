"""What the rehearse stage says: per revision and table it timed, the time at the two sizes
and the estimate at the declared volume; a warning where a lock that blocks writes would be
held longer than max_lock_ms; what the time budget left out; a revision that failed on rows."""

from __future__ import annotations

from dataclasses import dataclass, field

from checks.errors import MigrationError
from checks.measure.locks import READS_AND_WRITES, Mode
from checks.rehearse.estimate import Line
from checks.result import Finding, Severity

LONG_LOCK, TIMED, BUDGET, FAILED = "rehearse-lock", "rehearse-timed", "rehearse-budget", "rehearse-failed"
UNFILLED = "rehearse-unfilled"
MAX_STATEMENTS = 3  # statements a message names, the slowest first


@dataclass(frozen=True)
class Statement:
    """One statement of a timed revision."""

    text: str  # as the measurement shortened it
    # Its own time at the smaller and the larger size; None at the smaller where the two runs
    # did not run the same statements (a revision whose code reads its rows).
    ms: tuple[float | None, float]
    estimate_ms: float  # at the declared volume; where the runs differed, its time at the larger

    def to_json(self) -> dict:
        return {"text": self.text, "ms": [_rounded(ms) for ms in self.ms],
                "estimate_ms": _rounded(self.estimate_ms)}


@dataclass
class Timed:
    """One table of one revision, timed at two sizes and estimated at the declared volume."""

    revision: str
    table: str
    lock: Mode
    smaller: tuple[int, float]  # (rows, ms held)
    larger: tuple[int, float]
    declared: int
    line: Line
    statements: list[Statement] = field(default_factory=list)  # in the order they ran

    @property
    def estimate_ms(self) -> float:
        return self.line.at(self.declared)

    def over(self, max_lock_ms: float) -> bool:
        return self.estimate_ms > max_lock_ms

    def slowest(self) -> list[Statement]:
        """The statements, the slowest at the declared volume first."""
        return sorted(self.statements, key=lambda s: -s.estimate_ms)

    def by_statement(self) -> str:
        """The slowest statements first, as the message lists them."""
        ordered = self.slowest()
        shown = ", ".join(f"{s.text} ({milliseconds(s.estimate_ms)})" for s in ordered[:MAX_STATEMENTS])
        more = len(ordered) - MAX_STATEMENTS
        return shown + (f" and {more} more" if more > 0 else "")

    def to_json(self, max_lock_ms: float) -> dict:
        """What the JSON report holds of it (docs/ci.md lists the fields)."""
        return {"table": self.table, "lock": self.lock.sql, "blocks": self.lock.blocks,
                "rows": [self.smaller[0], self.larger[0]],
                "held_ms": [_rounded(self.smaller[1]), _rounded(self.larger[1])],
                "declared_rows": self.declared, "estimate_ms": _rounded(self.estimate_ms),
                "scaling": self.line.describe(), "fixed_ms": self.line.fixed_ms,
                "per_row_ms": self.line.per_row_ms, "over_max_lock_ms": self.over(max_lock_ms),
                "statements": [s.to_json() for s in self.statements]}


def _rounded(ms: float | None) -> float | None:
    return None if ms is None else round(ms, 3)


def milliseconds(value: float) -> str:
    """A time as the messages print it: whole milliseconds from 10 on, else two digits."""
    return f"{value:,.0f} ms" if value >= 10 else f"{value:.2g} ms"


def timed(found: Timed, max_lock_ms: float, file: str | None, line: int | None) -> Finding:
    (rows_a, ms_a), (rows_b, ms_b) = found.smaller, found.larger
    ms = milliseconds
    said = (f"revision {found.revision} holds {found.lock.sql} on {found.table} for {ms(ms_b)} at "
            f"{rows_b:,} rows ({ms(ms_a)} at {rows_a:,}); estimated {ms(found.estimate_ms)} at the "
            f"declared {found.declared:,} rows ({found.line.describe()})")
    statements = f"; by statement, at the declared volume: {found.by_statement()}" if found.statements else ""
    where = {"revision": found.revision, "object": found.table, "file": file, "line": line}
    if found.lock.blocks_writes and found.over(max_lock_ms):
        waits = "reads and writes of it" if found.lock.blocks == READS_AND_WRITES else "writes to it"
        return Finding(Severity.WARNING, LONG_LOCK, f"{said}, over max_lock_ms ({max_lock_ms:g}): {waits} "
                                                    f"wait that long during the deploy{statements}",
                       hint="change the revision so the lock is not held for a pass over every row (the "
                            "fresh stage's deploy-rewrite or deploy-scan finding says how), or deploy it in "
                            "a maintenance window; raise max_lock_ms if the wait is acceptable", **where)
    return Finding(Severity.INFO, TIMED, said + statements, **where)


def failed(error: MigrationError, rows: int) -> Finding:
    return Finding(Severity.WARNING, FAILED,
                   f"revision {error.revision} failed on tables filled with rows ({rows:,} in all), though "
                   f"it applies to empty ones: {error.db_error or error}",
                   revision=error.revision, object=error.path, file=error.path,
                   hint="make the revision work on tables that hold rows (a NOT NULL column needs a default "
                        "or a backfill first; a cast must accept every value); `--stage recovery` rehearses "
                        "the history under rows too")


def out_of_budget(skipped: list[str], budget_s: float) -> Finding:
    named = ", ".join(skipped[:10]) + (f" and {len(skipped) - 10} more" if len(skipped) > 10 else "")
    return Finding(Severity.WARNING, BUDGET,
                   f"the rehearse_budget ({budget_s:g} s) ran out: not rehearsed: revision(s) {named}",
                   revision=skipped[0] if skipped else None,
                   hint="raise rehearse_budget, or lower the volumes (smaller sizes are timed faster)")


def unfilled(revision: str, tables: list[str]) -> Finding:
    """Tables the row generator had no values for: the revision ran on them empty."""
    return Finding(Severity.INFO, UNFILLED,
                   f"revision {revision} was rehearsed with {', '.join(tables)} empty: the row generator has "
                   "no value its columns or constraints accept (a type of an extension, a CHECK on a value)",
                   revision=revision, object=tables[0],
                   hint="the timings of those tables are what an empty table takes; rehearse them on a copy "
                        "of real data by hand")
