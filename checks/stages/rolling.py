"""rolling: the release still running keeps working while, and after, the migration runs.

A rolling deploy migrates the database while the previous release still serves requests,
and keeps serving them until the last old instance is gone. A revision that drops or
renames a column that release reads, or adds a NOT NULL column it does not insert, makes
its every request fail for that time. Here the previous release's models (from git) say
what its ORM sends per table; a database with a row in every table is brought to the
previous release's schema, and the statements run there, then after each new revision,
each time in a transaction rolled back. The first revision after which one fails is the
one that breaks the running release.

With `--code-first` the other direction too: this release's statements on the schema
before the new revisions, for deploys that roll out the code before migrating.
"""

from __future__ import annotations

from checks.pullrequest.oldtree import Unloadable, opened
from checks.result import Finding, Severity
from checks.rolling import probes, verdict
from checks.rolling.release import OPTION, statements
from checks.run import Run
from checks.sample_rows import seed
from checks.stages.skips import StageSkipped


def check(run: Run) -> list[Finding]:
    """Without it, a deploy that migrates first breaks every request the previous release
    serves until its last instance stops, and no test of either release alone shows it."""
    reference, option = previous_reference(run)
    if reference is None:
        raise StageSkipped(Finding(
            Severity.INFO, "skipped", "no previous release to replay: name it with --previous-release REF "
            "(the tag or commit production runs), or run a pull request with --git-base REF"))
    project = run.project
    order = project.upgrade_order()
    if run.scope is not None:
        released = run.scope.base
    else:
        from checks.pullrequest.gitdiff import git_base

        released = git_base(project, reference, option, merge=False).base
    base = [s for s in order if s.revision in released]
    new = [s for s in order if s.revision not in released]
    if not new:
        return [Finding(Severity.INFO, "rolling-nothing-new",
                        f"no revision since {reference}: the previous release runs on the same schema")]
    try:
        # With --git-base, the release the change starts from: where it and HEAD meet.
        with opened(project, reference, option, merge=option != OPTION, own_process=True) as old, \
                run.work_database("rolling") as db:
            tables, points = _replay(run, old, db, base, new)
    except Unloadable as exc:
        # Named by --git-base, which asked for a pull request's checks, not this one: a warning.
        return [Finding(Severity.ERROR if option == OPTION else Severity.WARNING,
                        "previous-release-unloadable",
                        f"the previous release ({reference}) cannot be loaded: {exc}",
                        hint="the check runs that release's models in the project's Python: make its "
                             "tree importable there, or name another release (--previous-release)")]
    findings = verdict.previous_findings(tables, points) + verdict.new_findings(tables, points)
    unjudged = verdict.unjudged(tables, points)
    run.summaries["rolling"] = _summary(run, reference, tables, len(new), len(unjudged))
    if unjudged:
        findings.append(Finding(Severity.INFO, "rolling-unjudged",
                                "statements that fail on their own release's schema, not judged: "
                                + "; ".join(unjudged),
                                hint="drift between that release's models and its migrations, or a "
                                     "value the row generator cannot make: compare them with the drift "
                                     "stage at that release"))
    return findings


def _replay(run: Run, old, db, base: list, new: list) -> tuple[list[probes.Table], list]:
    """The history up to the previous release on `db`, with rows; then every statement there
    and after each new revision."""
    project = run.project
    project.bootstrap(db)
    project.run_steps(db, base, upgrade=True)  # env.py runs even on an empty base: its models
    with run.server.connect(db.name) as conn:
        seed(conn, run.version_table)  # what a release meets: a row in every table of its schema
    tables = [probes.Table("previous", entry) for entry in statements(old, db, previous=True)]
    if run.code_first:
        tables += [probes.Table("new", entry) for entry in statements(project, db, previous=False)]
    points = [(None, _point(run, db.name, tables))]
    for revision in new:
        project.run_steps(db, [revision], upgrade=True)
        points.append((revision, _point(run, db.name, tables)))
    return tables, points


def _summary(run: Run, reference: str, tables: list[probes.Table], new: int, unjudged: int) -> str:
    replayed = sum(table.release == "previous" for table in tables)
    said = (f"{replayed} table(s) of the previous release ({reference}) replayed after each of {new} "
            "new revision(s)")
    if run.code_first:
        said += " and this release's on the schema before them"
    if unjudged:
        said += f"; {unjudged} table(s) with statements not judged (they fail where their own release runs)"
    return said


def previous_reference(run: Run) -> tuple[str | None, str]:
    """The git reference of the release still running, and the option that named it."""
    if run.previous_release:
        return run.previous_release, OPTION
    if run.scope is not None and run.scope.mode == "git-base":
        return run.scope.reference, "--git-base"
    return None, OPTION


def _point(run: Run, database: str, tables: list[probes.Table]) -> probes.Point:
    """Every statement's outcome on the database as it is now. A value the row lacked so far
    (a column the revisions just added) is read first; no row is added between revisions,
    which a deploy of them all at once would not find there."""
    with run.server.connect(database) as conn:
        probes.read_rows(conn, probes.incomplete(tables))
        return probes.send(conn, tables)
