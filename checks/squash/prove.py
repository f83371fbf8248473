"""The proof of a squash: the old history at the squash point and the new base build one schema.

Both are built on throwaway databases of the run and compared with the suite's one
snapshot and one diff; a difference is named object by object. Then every old revision
below the point gets its way onto the new history: a database whose schema already is
the base's is stamped, any other is first upgraded with the old history to the point.
"""

from __future__ import annotations

from alembic.script import Script

from checks.errors import StageError
from checks.pullrequest.oldtree import opened
from checks.pullrequest.scope import parents
from checks.result import Finding, Severity
from checks.run import Run
from checks.schema import Snapshot
from checks.schema.diff import diff_snapshots, schema_differences
from checks.squash.options import OPTION
from checks.squash.plan import ancestors


def prove(run: Run, reference: str) -> list[Finding]:
    order = run.project.upgrade_order()
    with opened(run.project, reference, OPTION) as old:
        return _prove(run, old, order, reference)


def _prove(run: Run, old, order: list[Script], reference: str) -> list[Finding]:
    """The proof against `old`, the project as `reference` had it."""
    old_order = old.upgrade_order()
    by_id = {script.revision: script for script in old_order}
    points = [s for s in order if not parents(s) and s.revision in by_id and parents(by_id[s.revision])]
    if not points:
        roots = ", ".join(s.revision for s in order if not parents(s)) or "none"
        raise StageError("no-squash-point", f"no base revision of this history ({roots}) stood on "
                         f"earlier revisions in {reference}: there is no squash to check",
                         hint=f"name the commit before the squash: {OPTION} REF")
    findings: list[Finding] = []
    summaries = []
    for point in points:
        below = ancestors(old_order, point.revision) | {point.revision}
        chain = [s for s in old_order if s.revision in below]
        old_states = _old_states(run, old, chain, reference)
        base = _base_state(run, point)
        found, summary = _judge(point.revision, chain, old_states, base, reference)
        findings += found
        summaries.append(summary)
    run.summaries["squash"] = "; ".join(summaries)
    return findings


def _old_states(run: Run, old, chain: list[Script], reference: str) -> dict[str, Snapshot]:
    """The schema after each revision of the old history up to the point, recorded as the
    fresh build records its own (incrementally where the server allows)."""
    walker = Run(old, run.server, run.progress)
    with walker.work_database("squash-old") as db:
        old.bootstrap(db)
        walk = walker.walk_up(db, chain, 0, "squash")
        walk.finish_tracking(walker)
    run.progress.clear()
    if walk.error is not None:
        raise StageError("old-history-failed", f"the history of {reference} does not build: upgrade of "
                         f"{walk.error.revision} failed: {walk.error.db_error or walk.error}",
                         revision=walk.error.revision, hint="check out that commit and run verify there")
    return walk.after


def _base_state(run: Run, point: Script) -> Snapshot:
    states: list[Snapshot] = []
    with run.work_database("squash-base") as db:
        run.project.bootstrap(db)
        run.project.run_steps(db, [point], upgrade=True,
                              after_step=lambda _r, connection: states.append(run.snapshot(connection)))
    return states[0]


def _judge(point: str, chain: list[Script], old: dict[str, Snapshot], base: Snapshot,
           reference: str) -> tuple[list[Finding], str]:
    findings = [Finding(
        Severity.ERROR, "squash-differs",
        f"the squashed base {point} does not build the schema {reference}'s history built at {point}: "
        f"{difference.message}", revision=point, object=difference.object,
        hint=f"squash again from {reference} (python -m checks squash --to {point}), or make the base "
             f"build {difference.object} as the old history did")
        for difference in diff_snapshots(old[point], base, expected_label=f"{reference} at {point}",
                                         actual_label="the squashed base")]
    stamped, behind = [], []
    for script in chain:
        if script.revision == point:
            continue
        if not schema_differences(old[script.revision], base):
            stamped.append(script.revision)
            step = (f"its schema is the base's: alembic stamp --purge {point} (or python -m checks "
                    f"stamp {point}, which backs up first)")
        else:
            behind.append(script.revision)
            step = (f"upgrade with the old history to {point} first (from a checkout of {reference}: "
                    f"alembic upgrade {point}); the squashed history then goes on from there")
        findings.append(Finding(Severity.INFO, "stamp-plan", f"a database at {script.revision}: {step}",
                        revision=script.revision))
    differs = any(f.severity is Severity.ERROR for f in findings)
    verdict = "differs from" if differs else "builds the schema of"
    plan = [f"a database at {_some(stamped)}: alembic stamp --purge {point}"] if stamped else []
    plan += [f"at {_some(behind)}: upgrade with the old history to {point} first"] if behind else []
    summary = (f"the base {point} {verdict} {reference}'s history at {point} ({len(chain)} revisions)"
               + (f"; {'; '.join(plan)} (-v lists each)" if plan else ""))
    return findings, summary


def _some(revisions: list[str], shown: int = 3) -> str:
    more = len(revisions) - shown
    return ", ".join(revisions[:shown]) + (f" and {more} more" if more > 0 else "")
