"""rehearse: how long each revision that locks a table would hold the lock at production size.

The fresh build measured which lock each revision takes on the tables that existed before
it, but on empty tables every lock is brief. Each revision that takes one stronger than
ROW EXCLUSIVE is applied again, on throwaway copies of the database just before it whose
tables hold rows (checks/rehearse/timing.py), at two sizes scaled down from the declared
volumes (checks/rehearse/scale.py), and the time the lock was held is carried to the
declared volume along a line through the two (checks/rehearse/estimate.py).
"""

from __future__ import annotations

import time

from checks.measure.risk import TableRisk, revision_risks
from checks.project.source_lines import def_line
from checks.rehearse import findings as said
from checks.rehearse.estimate import through
from checks.rehearse.findings import Statement
from checks.rehearse.results import Results
from checks.rehearse.scale import SMALLER, Sizes, choose
from checks.rehearse.settings import Plan, plan
from checks.rehearse.timing import WORTH_TIMING, OutOfTime, Rehearsal, Timing
from checks.result import Finding, Severity
from checks.run import Run
from checks.stages.skips import skipped_for_build

NAME = "rehearse"


def check(run: Run) -> list[Finding]:
    """A lock that takes a millisecond on an empty table can take minutes on a full one, and
    every query of the application waits behind it for as long: only rows show how long."""
    chosen = plan(run.project.settings, run.project.root)
    build = run.build()
    if build.error is not None:
        return skipped_for_build(build)
    if not build.measured:
        run.summaries[NAME] = "nothing measured (the measure setting is off): nothing to rehearse"
        return [Finding(Severity.INFO, "rehearse-off", "the fresh build did not measure locks (measure = "
                                                       "false), so no revision was picked to rehearse",
                        hint="remove measure = false from the settings")]
    todo = [(risk.revision, tables) for risk in revision_risks(run, build)
            if (tables := [t for t in risk.tables if t.lock is not None and t.lock.rank > WORTH_TIMING])]
    deadline = time.monotonic() + chosen.budget_s
    found: list[Finding] = []
    timed = []
    record = Results(chosen.max_lock_ms, chosen.volumes.source)
    index = {script.revision: i for i, script in enumerate(build.order)}
    paths = {s.revision: (s.path, def_line(s.path, "upgrade")) for s in build.order}
    previous = None
    try:
        for done, (revision, tables) in enumerate(todo):
            try:
                # Each template goes on from the last one: the history is applied once in all.
                rehearsal = Rehearsal(run, build.order, index[revision], deadline, after=previous)
                if previous is not None:
                    previous.close()
                previous = rehearsal
                results, notes = _judge(rehearsal, build.order, index[revision], tables, chosen, record)
            except OutOfTime:
                record.not_rehearsed = [r for r, _ in todo[done:]]
                found.append(said.out_of_budget(record.not_rehearsed, chosen.budget_s))
                break
            found += notes
            for one in results:
                timed.append(one)
                record.timed(one)
                found.append(said.timed(one, chosen.max_lock_ms, *paths[revision]))
    finally:
        if previous is not None:
            previous.close()
    run.summaries[NAME] = _summary(len(todo), timed, record.sizes, chosen)
    run.rehearsal[NAME] = record.to_json()
    return found


def _judge(rehearsal: Rehearsal, order, index: int, tables: list[TableRisk], chosen: Plan, record: Results):
    """The revision timed at the two sizes: each of its `tables` timed, and what else to say
    of it; what went wrong is noted in `record` too."""
    revision = order[index].revision
    volumes = {table: chosen.volumes.of(table) for table in rehearsal.widths}
    sizes = choose(volumes, rehearsal.widths, chosen.disk_bytes)
    locked = {t.table for t in tables}
    smaller = rehearsal.time_at(sizes.smaller, locked)
    larger = rehearsal.time_at(sizes.larger, locked) if smaller.error is None else smaller
    record.sizes = record.sizes or sizes
    if larger.error is not None:
        record.failed(revision, larger.error)
        return [], [said.failed(larger.error, sum(larger.rows.values()))]
    notes = []
    if larger.unfilled:
        record.unfilled(revision, larger.unfilled)
        notes.append(said.unfilled(revision, larger.unfilled))
    results = []
    for table in tables:
        if table.table not in volumes:
            continue  # not a table the generator knows (a materialized view)
        points = [(timing.rows[table.table], timing.held_ms.get(table.table, 0.0))
                  for timing in (smaller, larger)]
        results.append(said.Timed(revision, table.table, table.lock, points[0], points[1],
                                  volumes[table.table], through(*points),
                                  _by_statement(smaller, larger, table.table, volumes[table.table])))
    return results, notes


def _by_statement(smaller: Timing, larger: Timing, table: str, declared: int) -> list[Statement]:
    """Each statement's estimate at `declared` rows of `table`, where both sizes ran the same
    statements (a revision whose code reads its rows may not); else its time at the larger."""
    if [text for text, _ in smaller.statements] != [text for text, _ in larger.statements]:
        return [Statement(text, (None, ms), ms) for text, ms in larger.statements]
    rows = (smaller.rows[table], larger.rows[table])
    return [Statement(text, (ms_a, ms_b), through((rows[0], ms_a), (rows[1], ms_b)).at(declared))
            for (text, ms_a), (_, ms_b) in zip(smaller.statements, larger.statements, strict=True)]


def _summary(candidates: int, timed: list, sizes: Sizes | None, chosen: Plan) -> str:
    if not candidates:
        return "no revision locks a table that existed before it more than ROW EXCLUSIVE: nothing to rehearse"
    revisions = len({t.revision for t in timed})
    text = f"{revisions} of {candidates} revision(s) timed on rows"
    if sizes is not None:
        text += (f", at {sizes.describe()} and 1/{SMALLER} of that; estimates at the declared volumes "
                 f"({chosen.volumes.source}) follow a straight line in rows through the two timings")
    return text
