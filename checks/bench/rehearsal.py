"""The rehearse stage's estimate put to the test on the bench's own history.

The stage times a revision at two sizes and carries the time along the straight line through
them (checks/rehearse/estimate.py) to a volume it never fills. Here the same machinery times
one revision of the generated history that scans or rewrites a table that existed before it
at two sizes, estimates a larger one, and then fills and times that one too: the estimate
should be within a factor of two of what it measures, either way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from checks.bench.measure import BenchError
from checks.bench.project import generate
from checks.errors import VerifyError
from checks.measure.risk import revision_risks
from checks.project.project import Project
from checks.rehearse.estimate import Line, through
from checks.rehearse.scale import SMALLER
from checks.rehearse.timing import WORTH_TIMING, OutOfTime, Rehearsal
from checks.run import Run
from harness.server import Server

REVISIONS, TABLES = 50, 15  # the history it picks a revision from
LARGEST_ROWS = 400_000  # the size estimated and then measured
FACTOR = 2.0  # the estimate within this factor of the measurement, either way
BUDGET_S = 1800  # for the fills and timings together


@dataclass
class Accuracy:
    """One revision timed at two sizes and a third, larger one, and estimated at the third."""

    revision: str | None = None
    position: int | None = None  # its number in the generated history
    table: str | None = None
    points: list[tuple[int, float]] = field(default_factory=list)  # (rows, ms held), smaller first
    measured: tuple[int, float] | None = None  # at the size estimated
    skipped: str | None = None

    @property
    def line(self) -> Line | None:
        return through(*self.points) if len(self.points) == 2 else None

    @property
    def estimate_ms(self) -> float | None:
        return self.line.at(self.measured[0]) if self.line and self.measured else None

    @property
    def ratio(self) -> float | None:
        """The estimate over the measurement at the larger size."""
        if self.estimate_ms is None or not self.measured[1]:
            return None
        return self.estimate_ms / self.measured[1]

    def target_name(self) -> str:
        rows = f" at {self.measured[0]:,} rows" if self.measured else ""
        return f"rehearse estimate / measured{rows}"

    def describe(self) -> str:
        if self.skipped:
            return f"rehearse: skipped: {self.skipped}"
        (rows_a, ms_a), (rows_b, ms_b) = self.points
        rows_c, ms_c = self.measured
        return (f"rehearse: revision #{self.position} ({self.revision}) on {self.table}: {ms_a:.1f} ms at "
                f"{rows_a:,} rows, {ms_b:.1f} ms at {rows_b:,}; {self.line.describe()} gives "
                f"{self.estimate_ms:.1f} ms at {rows_c:,}, measured {ms_c:.1f} ms")

    def to_json(self) -> dict:
        if self.skipped:
            return {"skipped": self.skipped}
        return {"revision": self.revision, "position": self.position, "table": self.table,
                "timed": [{"rows": rows, "ms": round(ms, 3)} for rows, ms in self.points],
                "line": {"fixed_ms": round(self.line.fixed_ms, 3),
                         "per_row_ms": float(f"{self.line.per_row_ms:.6g}")},
                "rows": self.measured[0], "estimate_ms": round(self.estimate_ms, 3),
                "measured_ms": round(self.measured[1], 3),
                "ratio": None if self.ratio is None else round(self.ratio, 3)}


def sizes(largest_rows: int) -> tuple[int, int, int]:
    """The two sizes timed (a quarter of each other, as the stage's) and the one estimated."""
    larger = largest_rows // SMALLER
    return larger // SMALLER, larger, largest_rows


def accuracy(server: Server, root: Path, seed: int, largest_rows: int = LARGEST_ROWS,
             say=lambda line: None) -> Accuracy:
    """Generate the history under `root` and put the estimate to the test on `server`."""
    project = generate(root, REVISIONS, TABLES, seed)
    run = Run(Project(project.root), server)
    try:
        build = run.build()
    except VerifyError as exc:
        raise BenchError(f"the generated history for the rehearsal failed to build: {exc}") from None
    if build.error is not None:
        raise BenchError(f"the generated history for the rehearsal failed to build: {build.error}")
    picked = _pick(run, build)
    if picked is None:
        return Accuracy(skipped="no revision of the generated history scans or rewrites a table that "
                                "existed before it")
    index, table = picked
    revision = build.order[index].revision
    found = Accuracy(revision, project.positions().get(revision), table)
    wanted = sizes(largest_rows)
    say(f"rehearse: revision #{found.position} on {table} at {', '.join(f'{n:,}' for n in wanted)} rows\n")
    try:
        rehearsal = Rehearsal(run, build.order, index, time.monotonic() + BUDGET_S)
    except OutOfTime:
        raise BenchError(f"the rehearsal ran out of its {BUDGET_S} s while applying the history") from None
    try:
        held = [_held(rehearsal, table, rows) for rows in wanted]
    except OutOfTime:
        raise BenchError(f"the rehearsal ran out of its {BUDGET_S} s; try a smaller --rehearse-rows") \
            from None
    finally:
        rehearsal.close()
    found.points, found.measured = held[:2], held[2]
    return found


def _pick(run: Run, build) -> tuple[int, str] | None:
    """The first revision that scans or rewrites a table before it under a lock stronger than
    ROW EXCLUSIVE: its place in the build's order, and the table."""
    index = {script.revision: i for i, script in enumerate(build.order)}
    for risk in revision_risks(run, build):
        for table in risk.tables:
            if table.lock is not None and table.lock.rank > WORTH_TIMING and (table.scans or table.rewritten):
                return index[risk.revision], table.table
    return None


def _held(rehearsal: Rehearsal, table: str, rows: int) -> tuple[int, float]:
    # A row in every other table, for a foreign key of this one to point at.
    timing = rehearsal.time_at({**dict.fromkeys(rehearsal.widths, 1), table: rows}, {table})
    if timing.error is not None:
        raise BenchError(f"revision {rehearsal.revision.revision} failed on {rows:,} rows: {timing.error}")
    if table in timing.unfilled:
        raise BenchError(f"the row generator could not fill {table} for the rehearsal")
    return timing.rows[table], timing.held_ms[table]

