"""roundtrip: downgrade from head one revision at a time, upgrading each back once.

A staircase, from head down: each revision is downgraded (the schema must equal the one
recorded just before it was applied: no trace), upgraded again (it must succeed and build
the schema recorded just after it), and downgraded again before the next one. Histories
with merges work because the steps reverse the very order the fresh build applied them in. A revision whose
downgrade raises NotImplementedError is one-way on purpose: the trip ends above it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from alembic.script import Script

from checks.errors import ConfigError, MigrationError
from checks.parallel import rows, segments
from checks.project.policies import no_downgrades
from checks.project.source_lines import def_line
from checks.result import Finding, Severity
from checks.run import Run, Walk
from checks.schema import SchemaDifference, Snapshot, diff_snapshots, schema_differences
from checks.schema.compare_privileges import privilege_statement
from checks.schema_access import snapshot_of
from checks.stages.fresh import mismatch_note
from checks.stages.skips import skipped_for_build, skipped_without_downgrades
from checks.stages.undo import Undo


@dataclass
class Below:
    """What a split's upper walk decided at its bottom, where the worker's segment begins."""

    left_behind: bool = False  # the upper half left the database other than the worker built it
    lower: Trip | None = None  # the lower half's trip, walked on here from where the upper ended


@dataclass
class Trip:
    findings: list[Finding] = field(default_factory=list)
    one_way: MigrationError | None = None  # the downgrade that declared itself irreversible
    stopped: bool = False  # a step failed: the revisions below it were never walked
    reported: set[str] = field(default_factory=set)  # what differed, named once per walk


def check(run: Run) -> list[Finding]:
    """A downgrade nobody ran fails in the middle of an incident, when a rollback is the
    plan; one that leaves a table or type behind breaks the next upgrade."""
    policy = no_downgrades(run.project.settings, run.project.script)
    if policy is not None:
        return skipped_without_downgrades(policy)
    findings = _walk(run)
    build = run.build()
    if build.error is None:
        _say_not_walked(findings, build.walked[_floor_index(run, build.walked, build.order):])
    return findings


STOPPED = ("downgrade-failed", "reupgrade-failed")


def _say_not_walked(findings: list[Finding], walked: list[Script]) -> None:
    """A step that failed ends the trip: say how much of the history it left unjudged."""
    ids = [revision.revision for revision in walked]
    for finding in findings:
        stopped = finding.code in STOPPED and finding.revision in ids
        below = ids[:ids.index(finding.revision)] if stopped else []
        if below:
            span = below[0] if len(below) == 1 else f"{below[0]}..{below[-1]}"
            finding.message += (f"; the round trip stopped there: {len(below)} revision(s) below it "
                                f"({span}) were not walked")


def _walk(run: Run) -> list[Finding]:
    build = run.build()
    if build.error is not None:
        return skipped_for_build(build)
    split = build.split
    # In a pull-request run only the new revisions were walked: the staircase stops at the base.
    start = split.stop if split is not None else _floor_index(run, build.walked, build.order)

    def at_bottom(db, tracker, trip: Trip) -> Below:
        with run.server.connect(db.name) as conn:
            schema = snapshot_of(conn, run.version_table)
            found_rows = rows.fingerprint(conn, run.version_table)
        expected = build.before[build.walked[split.stop].revision]
        if found_rows == split.rows and not schema_differences(expected, schema):
            split.request.answer(False)  # the worker's findings stand; its records are not wanted
            return Below()
        # The upper downgrades left something the worker's database never had: one walk
        # from head judges the lower revisions on it. Walked on here, on this database,
        # against the schemas the worker recorded on its way up.
        records = segments.records_below(run, split)
        if records is None:
            return Below(left_behind=True)
        return Below(True, _round_trip(run, Walk(before=records[0], after=records[1]),
                                       build.walked[split.start:split.stop], db, tracker,
                                       above=build.walked[split.stop:], reported=trip.reported))

    try:
        notes, findings, stopped, below = _walk_down(
            run, build, build.walked[start:], _head_databases(run, build),
            at_bottom=at_bottom if split is not None else None)
    except BaseException:
        if split is not None:
            split.end(run)
        raise
    if split is None:
        return notes + findings
    if notes or stopped:
        # A one-way revision or a failed step: one walk from head ends above the worker's.
        split.end(run)
        return notes + findings
    if below.lower is not None:
        split.continued_here = True
        run.summaries["roundtrip"] = split.summary(build.walked)
        return (_one_way_notes(below.lower, build.walked[split.start:split.stop], build.walked[split.stop:])
                + findings + below.lower.findings)
    if below.left_behind:
        # The lower half could not be walked on (the worker failed): walked again in one go.
        split.end(run)
        split.walked_whole = True
        run.summaries["roundtrip"] = split.summary(build.walked)
        notes, findings = segment(run, build.walked, split.start, len(build.walked),
                                  lambda: run.work_database("roundtrip"))
        return notes + findings
    # In the order one walk from head gives: the notes of its retries first.
    lower_notes, lower_findings = segments.collect(run, build.walked, split, segment)
    run.summaries["roundtrip"] = split.summary(build.walked)
    return lower_notes + findings + lower_findings




def start_split(run: Run, build) -> segments.Split | None:
    """The split planner `verify` gives the run: a worker walks the lower revisions."""
    if no_downgrades(run.project.settings, run.project.script) is not None:
        return None  # nothing to walk: the stage says why
    try:
        floor = _floor_index(run, build.walked, build.order)
    except ConfigError:
        return None  # the stage reports the setting
    split = segments.plan(run, build.walked, floor)
    if split is not None:
        segments.start(run, build.walked, split, segment)
    return split


def segment(run: Run, walked: list[Script], start: int, stop: int,
            database, records: segments.Records | None = None) -> tuple[list[Finding], list[Finding]]:
    """The round trip of walked[start:stop] on databases of its own (`database()` makes one),
    the first built up to `stop` recording the schema around each revision of the segment
    (into `records`, when given: before and after, by revision)."""
    expected = Walk()
    notes: list[Finding] = []

    @contextlib.contextmanager
    def place(order):
        with _upgraded(run, database, walked[:_top(walked, order) + 1], start) as (db, walk):
            expected.before, expected.after = walk.before, walk.after
            if records is not None:
                records[0].update(walk.before)
                records[1].update(walk.after)
            if walk.mismatch is not None:
                top = walked[stop - 1].revision
                notes.append(mismatch_note(walk.mismatch, top, f"at {top}"))
            yield db, walk.tracker if walk.mismatch is None else None

    one_way, findings, _, _ = _walk_down(run, expected, walked[start:stop], place, above=walked[stop:])
    return notes + one_way, findings


Places = Callable[[list[Script]], contextlib.AbstractContextManager]


def _walk_down(run: Run, expected, order: list[Script], place: Places, above: list[Script] = (),
               at_bottom=None) -> tuple[list[Finding], list[Finding], bool, Below]:
    """The staircase over `order`, from its top, on the database `place(order)` gives (with
    its tracker); `at_bottom(db, tracker, trip)` sees it where a walk that reached the bottom
    of `order` ended, and says what it decided there. The note on a one-way revision that
    ended the walk (the revisions above it were judged: each step is committed, so what
    they did stands), the walk's findings, whether a failed step ended it early, and what
    `at_bottom` decided."""
    if not order:
        return [], [], False, Below()
    below = Below()
    with place(order) as (db, tracker):
        trip = _round_trip(run, expected, order, db, tracker, above)
        if trip.one_way is None and not trip.stopped and at_bottom is not None:
            below = at_bottom(db, tracker, trip)
    return _one_way_notes(trip, order, above), trip.findings, trip.stopped, below


def _one_way_notes(trip: Trip, order: list[Script], above: list[Script]) -> list[Finding]:
    if trip.one_way is None:
        return []
    position = next(i for i, rev in enumerate(order) if rev.revision == trip.one_way.revision)
    return [_one_way(trip.one_way, [*order[position + 1:], *above])]


def _head_databases(run: Run, build) -> Places:
    """The migrated database itself when nothing after the round trip needs it, else a copy."""
    @contextlib.contextmanager
    def place(order):
        if not run.keep_build_database:
            with run.build_database("roundtrip") as db:
                yield db, run.track(db, build.tracker) if build.tracker else None
        else:
            with run.work_database("roundtrip", template=build.database) as db:
                yield db, run.track(db, build.tracker) if build.tracker else None
    return place


@contextlib.contextmanager
def _upgraded(run: Run, database, revisions: list[Script], record_from: int | None = None):
    """A new database from `database()` with `revisions` applied: (database, Walk)."""
    with database() as db:
        run.project.bootstrap(db)
        walk = run.walk_up(db, revisions, record_from, "roundtrip")
        if walk.error is not None:
            raise walk.error
        yield db, walk


def _top(walked: list[Script], order: list[Script]) -> int:
    return next(i for i, rev in enumerate(walked) if rev.revision == order[-1].revision)


# The staircase, per revision from head down: undo it, redo it, undo it again.
DOWN, UP, AGAIN = "down", "up", "again"
STAIRCASE = (DOWN, UP, AGAIN)


def _round_trip(run: Run, expected_schemas, order: list[Script], db, tracker,
                above: list[Script] = (), reported: set[str] | None = None) -> Trip:
    """Walk down the staircase: each downgrade must restore the schema from before the
    revision, and each re-upgrade, run on exactly that state, must succeed and rebuild
    the schema from after it. Walking all the way down before coming back up would miss
    an upgrade that cannot run twice: its table is gone by the time it is re-applied."""
    trip = Trip(reported=reported if reported is not None else set())
    reported = trip.reported
    plan = [(revision, phase) for revision in reversed(order) for phase in STAIRCASE]
    steps_done = 0
    undo = Undo(tracker)

    def after_step(revision, connection) -> None:
        nonlocal steps_done
        _, phase = plan[steps_done]
        steps_done += 1
        if phase == AGAIN:
            walked(revision)
            return  # the same state DOWN already checked
        expected = (expected_schemas.before[revision.revision] if phase == DOWN
                    else expected_schemas.after[revision.revision])
        found = run.snapshot(connection, tracker)
        if phase == DOWN:
            differs.clear()
        if found != expected:  # the common case is equal, and far cheaper than a diff
            name_differences(revision, phase, expected, found)
        if phase == UP:
            undo.take_back(revision.revision, connection)

    def undone(index: int) -> bool:
        """Whether step `index` is a second downgrade the savepoint already took back."""
        nonlocal steps_done
        revision, phase = plan[index]
        if phase != AGAIN or not undo.taken_back(revision.revision):
            return False
        steps_done += 1
        walked(revision)
        return True

    def walked(revision) -> None:
        """Progress in revisions, each done once its three steps are."""
        run.progress.step("roundtrip", steps_done // len(STAIRCASE), len(order), revision.revision)

    # What the downgrade of the revision now walked left differing (its own trace, or one
    # a later revision's downgrade left): the re-upgrade runs on it, and is not blamed for it.
    differs: set[tuple[str, str]] = set()

    def name_differences(revision, phase: str, expected: Snapshot, found: Snapshot) -> None:
        labels = (("the schema before the upgrade", "the downgraded schema") if phase == DOWN
                  else ("the first upgrade's schema", "the schema upgraded again"))
        for diff in diff_snapshots(expected, found, expected_label=labels[0], actual_label=labels[1]):
            if phase == DOWN:
                differs.add((diff.object, diff.property))
            elif (diff.object, diff.property) in differs:
                continue  # there before the re-upgrade ran: a downgrade's trace, named as one
            if diff.message in reported:
                continue  # left by a later revision's downgrade, already named
            reported.add(diff.message)
            trip.findings.append(_trace(revision, diff, expected, found) if phase == DOWN
                                 else _not_repeatable(revision, diff))

    try:
        # Each step committed, as `alembic downgrade -1` and `alembic upgrade +1` each commit:
        # a revision that looks at the database through a connection of its own sees what the
        # step before it did (in one transaction it would see the build's committed schema).
        marks = {i: undo.marker(rev.revision) for i, (rev, phase) in enumerate(plan) if phase == UP}
        run.project.run_steps(db, [revision for revision, _ in plan],
                              upgrade=[phase == UP for _, phase in plan], after_step=after_step,
                              before_function=marks, undone=undone, commit_each=True)
    except MigrationError as exc:
        failed_phase = plan[steps_done][1] if steps_done < len(plan) else DOWN
        if exc.declared_one_way and failed_phase != UP:
            trip.one_way = exc  # the trip ends above it; what it found there stands
            return trip
        what = "upgrade after downgrade" if failed_phase == UP else "downgrade"
        trip.findings.append(_failed(run, exc, what, [*order, *above]))
        trip.stopped = True
    return trip


def _not_repeatable(revision: Script, diff: SchemaDifference) -> Finding:
    return Finding(
        Severity.ERROR, "roundtrip-differs",
        f"upgrading {revision.revision} ({Path(revision.path).name}) again after its downgrade does "
        f"not rebuild the same schema: {diff.message}", object=diff.object, revision=revision.revision,
        file=revision.path, line=def_line(revision.path, "upgrade"),
        hint="the upgrade depends on something that differs the second time (a value computed when it "
             "runs, a row or object its downgrade left); make it build the same schema every time")


def _trace(revision: Script, diff: SchemaDifference, before: Snapshot, after: Snapshot) -> Finding:
    name = Path(revision.path).name
    kept = _kept_enum_labels(diff, before, after)
    if kept:
        # PostgreSQL has no DROP VALUE: a downgrade can only recreate the whole type.
        labels = ", ".join(f"'{label}'" for label in kept)
        return Finding(
            Severity.WARNING, "enum-label-kept",
            f"downgrade of {revision.revision} ({name}) leaves {labels} in {diff.object}: PostgreSQL "
            "cannot drop an enum label, so the type keeps it", revision=revision.revision,
            object=diff.object, file=revision.path, line=def_line(revision.path, "downgrade"),
            hint="harmless when the upgrade adds it with ADD VALUE IF NOT EXISTS (a re-upgrade "
                 "that fails on it is reported apart); to remove it, recreate the type in "
                 "downgrade() (rename, create, ALTER COLUMN ... TYPE ... USING, drop the old one)")
    statement = privilege_statement(diff, before, after)
    return Finding(
        Severity.ERROR, "downgrade-leaves-trace",
        f"downgrade of {revision.revision} ({name}) does not undo its upgrade: {diff.message}",
        revision=revision.revision, object=diff.object, file=revision.path,
        line=def_line(revision.path, "downgrade"),
        hint=f'make downgrade() in {name} undo it too: op.execute("{statement}")' if statement else
             f"make downgrade() in {name} reverse every operation of upgrade(), in reverse order "
             "(drop what it created, including types and indexes)")


def _kept_enum_labels(diff: SchemaDifference, before: Snapshot, after: Snapshot) -> list[str]:
    """Labels the downgraded enum has beyond the earlier one, when that is its only change."""
    if diff.property != "labels" or not diff.object.startswith("enum "):
        return []
    name = diff.object.removeprefix("enum ")
    old, new = before.enums.get(name, ()), after.enums.get(name, ())
    if not set(old) < set(new) or [label for label in new if label in old] != list(old):
        return []
    return [label for label in new if label not in old]


def _floor_index(run: Run, order, history=None) -> int:
    """Where the trip starts in `order`; a floor in `history` below `order` starts it at 0."""
    floor = run.project.settings.downgrade_floor
    if not floor:
        return 0
    for index, revision in enumerate(order):
        if revision.revision == floor or revision.revision.startswith(floor):
            return index
    if any(revision.revision == floor or revision.revision.startswith(floor) for revision in history or ()):
        return 0  # below the revisions walked: all of them are above the floor
    raise ConfigError(f"{run.project.settings.source}: downgrade_floor {floor!r} is not a revision "
                      "of this history; use a revision id from `alembic history`")


def _floor_advice(run: Run, revision: str, order: list[Script]) -> str:
    above = next((order[i + 1].revision for i, rev in enumerate(order[:-1]) if rev.revision == revision),
                 None)
    where = run.project.settings.home()
    if above is None:
        return "or, if head is not meant to be rolled back, raise NotImplementedError in its downgrade()"
    return (f"or, if rolling back past {revision} is not supported, raise NotImplementedError in its "
            f"downgrade() or set downgrade_floor = \"{above}\" ({where})")


def _one_way(exc: MigrationError, above: list[Script]) -> Finding:
    checked = f"the {len(above)} revision(s) above it were checked" if above else "nothing above it to check"
    why = ("defines no downgrade()" if def_line(exc.path, "downgrade") is None else
           "declares its downgrade irreversible (it raises NotImplementedError)")
    return Finding(
        Severity.WARNING, "one-way-revision",
        f"{exc.revision} ({Path(exc.path).name}) {why}; the round trip stops there: {checked}",
        revision=exc.revision, object=exc.path, file=exc.path,
        line=exc.line or (def_line(exc.path, "downgrade") if exc.path else None),
        hint=(f"nothing to do if rollbacks past {exc.revision} are not promised; say so with "
              f"downgrade_floor = \"{above[0].revision}\" to skip this warning" if above else
              f"nothing to do if rollbacks past {exc.revision} are not promised"))


def _failed(run: Run, exc: MigrationError, what: str, order: list[Script]) -> Finding:
    if what == "downgrade":
        hint = (f"run `alembic downgrade {exc.revision}-1` on a scratch database to see it, then fix "
                f"downgrade(); {_floor_advice(run, exc.revision, order)}")
    else:
        hint = ("the downgrade left something behind that the upgrade trips over; fix downgrade() to "
                f"remove it, or make upgrade() tolerate it; {_floor_advice(run, exc.revision, order)}")
    return Finding(Severity.ERROR, "downgrade-failed" if what == "downgrade" else "reupgrade-failed",
                   f"{what} of {exc.revision} ({Path(exc.path).name}) failed: {exc.db_error}",
                   revision=exc.revision, object=exc.path, hint=exc.hint or hint, file=exc.path,
                   line=exc.line or (def_line(exc.path, "downgrade" if what == "downgrade" else "upgrade")
                                     if exc.path else None))
