"""roundtrip: downgrade from head one revision at a time, then upgrade back to head.

After each downgrade the schema must equal the one recorded just before that revision
was applied: a downgrade must leave no trace. Histories with merges work because the
steps reverse the very order the fresh build applied them in.
"""

from __future__ import annotations

from pathlib import Path

from checks.errors import ConfigError, MigrationError
from checks.result import Finding, Severity
from checks.run import Run
from checks.schema import diff_snapshots
from checks.stages.skips import skipped_for_build


def check(run: Run) -> list[Finding]:
    """A downgrade nobody ran fails in the middle of an incident, when a rollback is the
    plan; one that leaves a table or type behind breaks the next upgrade."""
    build = run.build()
    if build.error is not None:
        return skipped_for_build(build)
    order = build.order[_floor_index(run, build.order):]
    with run.work_database("roundtrip", template=build.database) as db:
        return _round_trip(run, build, order, db)


def _round_trip(run: Run, build, order, db) -> list[Finding]:
    findings: list[Finding] = []
    reported: set[str] = set()
    steps_done = 0

    def compare(revision, connection) -> None:
        nonlocal steps_done
        steps_done += 1
        run.progress.step("roundtrip", steps_done, len(order), revision.revision)
        before = build.before[revision.revision]
        after = run.snapshot(connection)
        if after == before:
            return  # the common case, and far cheaper than a diff
        for diff in diff_snapshots(before, after, expected_label="the schema before the upgrade",
                                   actual_label="the downgraded schema"):
            if diff.message in reported:
                continue  # left by a later revision's downgrade, already named
            reported.add(diff.message)
            findings.append(Finding(
                Severity.ERROR, "downgrade-leaves-trace",
                f"downgrade of {revision.revision} ({Path(revision.path).name}) does not undo its "
                f"upgrade: {diff.message}", revision=revision.revision, object=diff.object,
                hint=f"make downgrade() in {Path(revision.path).name} reverse every operation of "
                     "upgrade(), in reverse order (drop what it created, including types and indexes)"))

    try:
        run.project.run_steps(db, list(reversed(order)), upgrade=False, after_step=compare)
    except MigrationError as exc:
        return findings + [_failed(exc, "downgrade")]
    try:
        run.project.run_steps(db, order, upgrade=True)
    except MigrationError as exc:
        return findings + [_failed(exc, "upgrade after downgrade")]
    with run.server.connect(db.name) as conn:
        again = run.snapshot(conn)
    for diff in diff_snapshots(build.head, again, expected_label="the first upgrade's schema",
                               actual_label="the schema after the round trip"):
        if diff.message not in reported:
            findings.append(Finding(
                Severity.ERROR, "roundtrip-differs",
                f"upgrading again after downgrading does not rebuild the same schema: {diff.message}",
                object=diff.object, revision=order[-1].revision,
                hint="a downgrade left something the upgrade then skipped or changed"))
    return findings


def _floor_index(run: Run, order) -> int:
    floor = run.project.settings.downgrade_floor
    if not floor:
        return 0
    for index, revision in enumerate(order):
        if revision.revision == floor or revision.revision.startswith(floor):
            return index
    raise ConfigError(f"{run.project.settings.source}: downgrade_floor {floor!r} is not a revision "
                      "of this history; use a revision id from `alembic history`")


def _failed(exc: MigrationError, what: str) -> Finding:
    return Finding(Severity.ERROR, "downgrade-failed" if what == "downgrade" else "reupgrade-failed",
                   f"{what} of {exc.revision} ({Path(exc.path).name}) failed: {exc.db_error}",
                   revision=exc.revision, object=exc.path,
                   hint=f"run `alembic downgrade {exc.revision}-1` on a scratch database to see it, "
                        "then fix downgrade()" if what == "downgrade" else
                        "the downgrade left something behind that the upgrade trips over")
