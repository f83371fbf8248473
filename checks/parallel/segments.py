"""The round trip in two segments, the lower one walked by a worker on the other core.

A full run walks every revision up (fresh, recording the schema around each) and then
down the staircase (roundtrip, three steps per revision), one step after another on one
core. Split at revision `stop`, the two halves need nothing from each other:
  - the build applies the revisions below `stop` in its one pass without recording
    anything, records the ones above, and the round trip walks those down from head;
  - a forked worker builds a database of its own up to `stop`, recording the schema
    around each revision from the floor up, and walks that segment's staircase down on it.
The worker's findings join the round trip's, in the order one walk from head would give
them. A one-way revision above `stop` ends the trip there, as it would in one walk: the
worker's findings are then dropped.

The worker is a fork (checks.parallel.fork) only where that is safe and worth it: a long
enough history, Linux, no thread running, and none of the project's own modules imported
yet (settings an app reads once at import would otherwise name the build's database in the
worker). Anything the worker cannot finish (a crash, a project that refuses its database)
is walked again by the round trip itself, in this process, as without a worker.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from alembic.script import Script

from checks.parallel.beside import allowed, fork_for, wait_for
from checks.parallel.fork import TIMED_OUT, Worker
from checks.project.loaded import project_module_files
from checks.result import Finding, Severity

# Below this many revisions to round-trip, a worker's start-up costs more than it saves.
MIN_REVISIONS = 40
MIN_ENV = "ALEMBIC_PREFLIGHT_SPLIT_MIN"  # another minimum (tests use a small one)
# The worker's share of the revisions: the build also pays for drift and a catalog read at
# head while the worker walks, so the worker takes more than half (measured at 200 and 500).
LOWER_SHARE = 0.62

# (run, walked order, first index, stop index, the databases to use[, records]) -> (notes, findings);
# given `records`, it fills them with the schemas it recorded before and after each revision.
SegmentJob = Callable[..., tuple[list[Finding], list[Finding]]]
Records = tuple[dict, dict]


@dataclass
class Answer:
    """What the worker sends back when it is done."""

    found: tuple[list[Finding], list[Finding]]  # the segment's notes and findings
    ahead: dict  # the stages it ran besides (see _ahead)
    records: Records | None  # the schemas it recorded, when this process asked for them


@dataclass
class Split:
    start: int  # the lower segment is walked[start:stop]; the build records from `stop` on
    stop: int
    worker: Worker | None = None
    database: str | None = None  # the worker's database, dropped by whoever ends last
    walked_here: bool = False  # the worker stopped, and its revisions were walked in this process
    ran_ahead: tuple[str, ...] = ()  # the stages the worker also ran
    ran_here: tuple[str, ...] = ()  # those this process ran while the worker still walked
    claims: Claims | None = None  # who runs the stages in run.run_ahead
    rows: tuple | None = None  # what the rows added up to at `stop`, on the build's way up
    walked_whole: bool = False  # the upper half left something behind: walked in one process
    # The upper half left something behind, and the lower half was walked on from there, in
    # this process, against the schemas the worker recorded on its way up.
    continued_here: bool = False
    request: Request | None = None  # this process asking the worker for those records

    def label(self, walked: list[Script]) -> str:
        return f"{walked[self.start].revision}..{walked[self.stop - 1].revision}"

    def summary(self, walked: list[Script]) -> str:
        if self.continued_here:
            return (f"split in two, then walked on here: the upper revisions' downgrades left the "
                    f"database at {walked[self.stop - 1].revision} other than the build had it (a schema "
                    f"trace, or rows), so the lower {self.stop - self.start} ({self.label(walked)}) were "
                    "judged on that database, as one walk from head judges them, against the schemas "
                    "the worker process recorded on its way up")
        if self.walked_whole:
            return (f"walked in one go from head: the "
                    f"upper revisions' downgrades left the database at {walked[self.stop - 1].revision} "
                    "other than the build had it (a schema trace, or rows), so the lower ones were not "
                    "judged on a database of their own")
        lower = self.label(walked)
        how = ("walked again here after the worker process stopped (its error is in the project "
               "output log)" if self.walked_here else "by a worker process beside the build")
        if self.ran_ahead:
            how += f", which also ran {', '.join(self.ran_ahead)}"
        if self.ran_here:
            how += f"; {', '.join(self.ran_here)} ran here meanwhile"
        return (f"split in two: the upper {len(walked) - self.stop} revision(s) walked here, the lower "
                f"{self.stop - self.start} ({lower}) {how}")

    def end(self, run) -> None:
        """Stop the worker if it still runs, and drop its database."""
        if self.worker is not None:
            self.worker.stop()
        for pipes in (self.claims, self.request):
            if pipes is not None:
                pipes.remove()
        if self.database is not None:
            with contextlib.suppress(Exception):
                run.server.drop_database(self.database)


def plan(run, walked: list[Script], floor: int) -> Split | None:
    """Where to split the round trip of `walked` (from `floor` up), or None to walk it whole."""
    if not allowed():
        return None
    minimum = int(os.environ[MIN_ENV]) if os.environ.get(MIN_ENV, "").isdigit() else MIN_REVISIONS
    count = len(walked) - floor
    if count < max(minimum, 2) or _project_loaded(run.project):
        return None
    stop = floor + max(1, min(count - 1, round(count * LOWER_SHARE)))
    return Split(floor, stop)


def start(run, walked: list[Script], split: Split, job: SegmentJob) -> None:
    """Fork the worker that walks `walked[split.start:split.stop]`."""
    split.database = run.server.new_database_name("lower")
    run.server.adopt(split.database)  # dropped on exit even if the worker is killed

    split.claims = Claims(run.run_ahead)
    split.request = Request()

    def work() -> Answer:
        split.request.in_worker()
        records: Records = ({}, {})
        found = job(run, walked, split.start, split.stop, _own_database(run, split.database), records)
        ahead = _ahead(run, split.claims)
        return Answer(found, ahead, records if split.request.wanted() else None)

    split.worker = fork_for(run, work)


def collect(run, walked: list[Script], split: Split, job: SegmentJob) -> tuple[list[Finding], list[Finding]]:
    """The worker's notes and findings; what it could not finish is walked here."""
    if split.request is not None:
        split.request.answer(False)
    outcome = _finish(run, split)
    if outcome is not None and outcome.failure == TIMED_OUT:
        return [Finding(Severity.ERROR, "run-timeout",
                        f"the round trip of {split.label(walked)} did not finish within "
                        f"{run.project.limits.run_limit_name()}",
                        hint="raise the limit, or run fewer stages (--stage)")], []
    if outcome is not None and outcome.failure is None:
        return outcome.value.found
    split.walked_here = True
    if outcome is not None:
        run.project.env.output.write(f"\nalembic-preflight: the round trip's worker stopped, so its "
                                     f"revisions are walked again in the main process:\n{outcome.failure}")
    return job(run, walked, split.start, split.stop, _work_database(run))


def records_below(run, split: Split) -> Records | None:
    """The schemas the worker recorded around each lower revision, (before, after) by
    revision, for this process to walk them on its own database; its findings are not
    used. None when the worker failed."""
    if split.request is not None:
        split.request.answer(True)
    outcome = _finish(run, split)
    if outcome is None or outcome.failure is not None:
        return None
    return outcome.value.records


def _finish(run, split: Split):
    """Wait for the worker (running here, meanwhile, the stages it has not begun), end it,
    and note what it ran: its Outcome, or None without a worker."""
    if split.worker is not None and split.claims is not None and not split.worker.finished():
        here = _ahead(run, split.claims, MEANWHILE)
        run.ran_ahead.update(here)
        split.ran_here = tuple(here)
    outcome = wait_for(run, split.worker) if split.worker else None
    split.end(run)
    if outcome is not None and outcome.failure is None:
        ahead = outcome.value.ahead
        run.ran_ahead.update(ahead)
        split.ran_ahead = tuple(ahead)
    return outcome


def start_side(run) -> Worker | None:
    """Without a split (a short history, a pull request's few revisions), a worker of its
    own runs the stages in `run.run_ahead` while this process builds. Not where the
    project's modules are loaded already: settings an app read once would name the
    database this process is building, and lint's offline run would reach it (a revision
    that connects on its own) while a run in one process finds it gone."""
    if not allowed() or _project_loaded(run.project):
        return None
    return fork_for(run, lambda: _side(run))


def _side(run) -> tuple[dict, object]:
    """The models' schema first (the drift stage, which wants it, comes before lint), then
    the stages that need no database."""
    models = None
    if run.build_models_ahead:
        from checks.stages.drift_models import models_ahead

        models = models_ahead(run)
    return _ahead(run), models


def collect_side(run) -> None:
    """What the side worker ran, into `run.ran_ahead` and `run.models_ahead`; what it could
    not run runs here. Nothing where there is no side worker, or it was collected already."""
    worker, run.side = run.side, None
    if worker is None:
        return
    outcome = wait_for(run, worker)
    if outcome.failure is None:
        stages, run.models_ahead = outcome.value
        run.ran_ahead.update(stages)


class Claims:
    """Stages either process may run, each by whichever gets to it first: a pipe per stage,
    made before the fork, holding one byte; reading it is the claim, and only one read gets
    it. Nothing on disk, so nothing is left behind, however the run ends."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self._pipes: dict[str, int] = {}
        for name in names:
            read, write = os.pipe()
            os.write(write, b".")
            os.close(write)
            os.set_blocking(read, False)
            self._pipes[name] = read

    def claim(self, name: str) -> bool:
        read = self._pipes.get(name)
        if read is None:
            return False
        try:
            return os.read(read, 1) == b"."
        except OSError:  # BlockingIOError cannot happen once the writer is closed; EOF is b""
            return False

    def remove(self) -> None:
        for read in self._pipes.values():
            with contextlib.suppress(OSError):
                os.close(read)
        self._pipes.clear()


class Request:
    """The worker's last question, answered by this process once its upper half is walked:
    whether to send the schemas it recorded (large to send, and wanted only when the upper
    half left something behind). A pipe made before the fork: this process writes y or n,
    the worker waits for it, or for the pipe's end when this process removes it."""

    def __init__(self) -> None:
        self._read, self._write = os.pipe()

    def answer(self, yes: bool) -> None:
        with contextlib.suppress(OSError):
            os.write(self._write, b"y" if yes else b"n")

    def in_worker(self) -> None:
        """Called first in the worker: only this process may answer, so that removing the
        pipe here ends the worker's wait."""
        os.close(self._write)

    def wanted(self) -> bool:
        try:
            return os.read(self._read, 1) == b"y"
        except OSError:
            return False

    def remove(self) -> None:
        for end in (self._read, self._write):
            with contextlib.suppress(OSError):
                os.close(end)
        self._read = self._write = -1


BESIDE = "run by a worker process beside the build"
MEANWHILE = "run while the round trip's worker walked its half"


def _ahead(run, claims: Claims | None = None,
           note: str = BESIDE) -> dict[str, tuple[list[Finding], str | None, float, str]]:
    """The stages in `run.run_ahead` (those that need no database: lint), run in a worker
    while the build's process is still busy, or by whichever process claims each first:
    (findings, summary, seconds, where it ran)."""
    from checks.stages import check

    done = {}
    for name in run.run_ahead:
        if claims is not None and not claims.claim(name):
            continue
        started = time.monotonic()
        try:
            findings = check(name)(run)
        except Exception:  # noqa: BLE001 - the stage runs again in its turn and reports it there
            continue
        done[name] = (findings, run.summaries.get(name), time.monotonic() - started, note)
    return done


def _own_database(run, name: str) -> Callable[[], contextlib.AbstractContextManager]:
    @contextlib.contextmanager
    def database() -> Iterator:
        db = run.database("lower", name=name)
        try:
            yield db
        finally:
            with contextlib.suppress(Exception):
                run.server.drop_database(db.name)
    return database


def _work_database(run) -> Callable[[], contextlib.AbstractContextManager]:
    return lambda: run.work_database("roundtrip")


def _project_loaded(project) -> bool:
    """Whether any of the project's own modules is imported already (env.py and revisions
    never are: Alembic loads them outside sys.modules)."""
    return bool(project_module_files(project))
