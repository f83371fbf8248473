"""One verification run: the project, the server, and what stages share.

The expensive part of most stages is the same: the migrations applied to an empty
database one revision at a time, with the schema recorded after each one. `Run.build`
does that once; later stages clone the migrated database (CREATE DATABASE ... TEMPLATE)
and reuse the recorded schemas instead of replaying history.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg
from alembic.script import Script
from psycopg import sql

from checks.errors import ConfigError, MigrationError, ProjectError
from checks.parallel import rows, segments
from checks.parallel.segments import Split
from checks.progress import Progress
from checks.project import flask_app
from checks.project.project import Database, Project, first_line
from checks.project.remote import RemoteMeter
from checks.pullrequest.base import apply_base
from checks.schema import Snapshot, incremental, tracking
from checks.schema.incremental import IncrementalSnapshots, describe_mismatch
from checks.schema_access import Ties, snapshot_of, ties
from harness.privileges import cannot_create_extension
from harness.server import Server
from projectside import measure as measuring


@dataclass
class Build:
    """The outcome of applying every revision to an empty database."""

    order: list[Script]
    # The revisions applied one at a time, with snapshots: all of them, or in a
    # pull-request run the new ones (the base before them is applied in one pass).
    walked: list[Script] = field(default_factory=list)
    database: str | None = None  # the migrated database, usable as a template
    before: dict[str, Snapshot] = field(default_factory=dict)  # schema just before each revision
    after: dict[str, Snapshot] = field(default_factory=dict)  # schema just after each revision
    head: Snapshot | None = None
    error: MigrationError | None = None
    duration_s: float = 0.0
    # The head's catalog, for clones to snapshot incrementally from; None when untracked.
    tracker: IncrementalSnapshots | None = None
    # An incremental snapshot at head that a full one contradicts: a bug of the suite.
    snapshot_mismatch: str | None = None
    # The round trip's lower revisions, walked by a worker beside this build (see
    # checks.parallel.segments); before/after then hold only the revisions above them.
    split: Split | None = None
    checkpoints: Checkpoints | None = None
    # What each walked revision did to the relations it touched, as the walk measured it
    # (projectside.measure), by revision id; empty when measuring is off.
    measured: dict[str, dict] = field(default_factory=dict)


@dataclass
class State:
    """The schema and the rows per table of a database at one point of the history."""

    schema: Snapshot
    rows: dict[str, int]


MODELS_AHEAD_FROM = 20  # revisions: from here on, the side worker builds the models' schema too


@dataclass
class Checkpoints:
    """Points of the build a later stage wants to see besides head (the merge-order stage),
    as indexes into the revisions walked: for each index in `copies`, a copy of the
    database just before that revision (env.py's run ends there, and a new one goes on
    once the copy is made); for each index in `states`, the State just after it. The build
    fills both in as it passes them; an index it could not serve stays None (a copy
    before a second root, which runs only on an empty database). For each index in
    `ties`, what ties relations together just after it (schema_access.Ties)."""

    copies: dict[int, str | None] = field(default_factory=dict)
    states: dict[int, State | None] = field(default_factory=dict)
    ties: dict[int, Ties | None] = field(default_factory=dict)


@dataclass
class Walk:
    """Revisions applied to one database, with the schema recorded around each one."""

    tracker: IncrementalSnapshots | None = None
    before: dict[str, Snapshot] = field(default_factory=dict)
    after: dict[str, Snapshot] = field(default_factory=dict)
    head: Snapshot | None = None  # the schema at the end, read in full
    mismatch: str | None = None  # the incremental snapshot at the end contradicted the full one
    error: MigrationError | None = None
    database: Database | None = None
    rows: tuple | None = None  # checks.parallel.rows.fingerprint at the first recorded revision
    measured: dict[str, dict] = field(default_factory=dict)  # projectside.measure's, by revision id

    def finish_tracking(self, run: Run) -> IncrementalSnapshots | None:
        """Remove the DDL log from the database; the tracker to snapshot its clones with, if
        its snapshots can be trusted."""
        if self.tracker is None:
            return None
        with run.server.connect(self.database.name) as conn:
            tracking.remove(conn)
        return self.tracker if self.mismatch is None and self.error is None else None


class Run:
    def __init__(self, project: Project, server: Server, progress: Progress | None = None,
                 strict: bool = False, lint_all: bool = False) -> None:
        self.project = project
        self.strict = strict  # lint warnings count as failures
        self.lint_all = lint_all  # lint released (locked) revisions too
        self.server = server
        self.progress = progress or Progress(enabled=False)
        self._build: Build | None = None
        self._build_failure: ProjectError | None = None
        self._planned: Build | None = None  # forked ahead of the build (start_workers)
        self.usage_errors: list[Exception] = []  # configuration problems met inside stages
        self.summaries: dict[str, str] = {}  # a stage's one line on what it covered, by stage name
        self.deploy_risk: dict[str, list[dict]] = {}  # a stage's measured locks per revision, by stage name
        self.rehearsal: dict[str, dict] = {}  # the rehearse stage's timings (rehearse.results), by stage name
        # Only the round trip compares against the schema before each revision; without
        # it, one snapshot at head is enough.
        self.snapshot_every_step = True
        self.scope = None  # a pullrequest.scope.Scope: judge only the revisions a change adds
        self.previous_release = None  # --previous-release REF: what the rolling stage replays
        self.code_first = False  # --code-first: the rolling stage replays this release on the old schema
        self.squash_check: str | None = None  # verify --squash-check: the git ref from before a squash
        # Set by `verify` when the round trip runs: splits it so a worker walks its lower half
        # beside the build (checks.parallel.segments); (run, build) -> Split or None.
        self.split_planner = None
        # Set by `verify` when a stage wants points of the build besides head (merge-order):
        # (run, build) -> Checkpoints or None, asked once the revisions to walk are known.
        self.checkpoint_planner = None
        # Stages a worker runs while this process builds (they need no database): the round
        # trip's, once its segment is done, or one of their own; and what they found there:
        # name -> (findings, summary, seconds).
        self.run_ahead: tuple[str, ...] = ()
        self.ran_ahead: dict[str, tuple[list, str | None, float, str]] = {}
        self.side = None  # without a split, the worker that runs them (checks.parallel.fork.Worker)
        # Whether the side worker builds the models' schema too (drift runs, in this process's
        # Python), and that schema once it has (checks.stages.drift_models.models_ahead).
        self.build_models_ahead = False
        self.models_ahead: Snapshot | None = None
        # Whether a stage after the round trip clones the migrated database (the drills);
        # if not, the round trip walks the database itself instead of a copy.
        self.keep_build_database = True
        # Set when the server refuses event triggers (not a superuser): snapshots stay full.
        self.tracking_refused = False
        # Every database env.py sees in this run has this one name (renamed away after
        # use), so app settings read once at import stay right for the whole run.
        self.work_name = server.new_database_name("work")
        project.env.default_database = (server.endpoint, self.work_name)
        if project.process is not None:
            # Started before the run had a database (for its facts): an app it created would
            # keep the settings it fell back to. The next request starts it for this run.
            project.process.close()

    def database(self, purpose: str, template: str | None = None, name: str | None = None) -> Database:
        name = self.server.create_database(purpose, template, name=name)
        if template is None:
            self._add_extensions(name)
        return Database(self.server.endpoint, name)

    def _add_extensions(self, name: str) -> None:
        """The `extensions` setting: what the project's real servers have before any migration."""
        for extension in self.project.settings.extensions:
            statement = sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(extension))
            with self.server.connect(name) as conn:
                try:
                    conn.execute(statement)
                except psycopg.errors.InsufficientPrivilege:
                    raise ConfigError(f"{self.project.settings.source}: extensions: "
                                      f"{cannot_create_extension(self.server, extension)}") from None
                except psycopg.Error as exc:
                    raise ConfigError(
                        f"{self.project.settings.source}: extensions: cannot create {extension!r} on "
                        f"PostgreSQL {self.server.version}: {first_line(exc, limit=1)}; install its package "
                        "on the server (or pick a backend that has it), or remove it from the setting"
                    ) from None

    @contextlib.contextmanager
    def work_database(self, purpose: str, template: str | None = None) -> Iterator[Database]:
        """A database under the run's one env.py-visible name; renamed away on exit."""
        try:
            name = self.server.create_database("work", template, name=self.work_name)
        except psycopg.errors.DuplicateDatabase:
            self.server.adopt(self.work_name)  # dropped with the run's own databases
            raise ProjectError(
                f"the run's database {self.work_name} already existed when the suite went to create it: "
                f"{flask_app.started_by(self.project.settings)} created it when it started (as "
                "sqlalchemy_utils' create_database() does in an app factory); point flask_app or the "
                "runner hook at an app that neither creates nor migrates its database on start") from None
        if template is None:
            self._add_extensions(name)
        holder = Database(self.server.endpoint, name)
        try:
            yield holder
        finally:
            holder.name = self.server.rename_database(name, purpose)

    @contextlib.contextmanager
    def build_database(self, purpose: str) -> Iterator[Database]:
        """The migrated database itself, under the run's env.py-visible name: for the last
        stage that needs it, which saves copying it; renamed away on exit."""
        build = self.build()
        name, build.database = build.database, None
        with self.as_work_database(name, purpose) as holder:
            yield holder

    @contextlib.contextmanager
    def as_work_database(self, name: str, purpose: str) -> Iterator[Database]:
        """The database `name` itself, under the run's env.py-visible name (a copy no one
        needs again, used up instead of cloned); renamed away on exit."""
        self.server.rename_database(name, "work", to=self.work_name)
        holder = Database(self.server.endpoint, self.work_name)
        try:
            yield holder
        finally:
            holder.name = self.server.rename_database(self.work_name, purpose)

    @property
    def version_table(self) -> str:
        return self.project.captured.version_table

    def snapshot(self, connection, tracker: IncrementalSnapshots | None = None) -> Snapshot:
        if tracker is not None:
            # env.py names its version table (context.configure(version_table=...)) only when
            # it runs, which can be after the tracker was made: it must leave out the same one.
            tracker.version_table = self.version_table
        return snapshot_of(connection, self.version_table, tracker.take if tracker else None)

    def track(self, db: Database, start: IncrementalSnapshots | None = None) -> IncrementalSnapshots | None:
        """Log DDL on `db` so each snapshot of it re-reads only what changed; None if not allowed."""
        if os.environ.get(incremental.OFF_ENV) == "1":
            return None
        with self.server.connect(db.name) as conn:
            if not incremental.install(conn):
                self.tracking_refused = True
                return None
        return start.for_clone() if start is not None else IncrementalSnapshots(self.version_table)

    def build(self) -> Build:
        """Apply every revision from base to head on a fresh database, once per run."""
        if self._build is not None:
            return self._build
        if self._build_failure is not None:
            raise self._build_failure  # the project cannot run at all; every stage says so
        started = time.monotonic()
        build = self._planned or self._plan(self.project.upgrade_order())
        self._planned = None
        try:
            with self.work_database("fresh") as db:
                if self.scope is None:
                    self.project.bootstrap(db)
                else:
                    apply_base(self, build, db)
                if build.error is None:
                    self._apply_history(build, db)
        except BaseException as exc:
            if build.split is not None:
                build.split.end(self)
            if isinstance(exc, ProjectError):
                self._build_failure = exc
            raise
        if build.error is None:
            build.database = db.name
        elif build.split is not None:
            build.split.end(self)  # nothing to round-trip
        build.duration_s = time.monotonic() - started
        self._build = build
        return build

    def start_workers(self) -> None:
        """Fork now what works beside the build (the round trip's lower half, or the stages
        that need no database), so that the stages before it run beside them too. Whatever
        keeps the history from loading is left for the build to report."""
        if self._build is not None or self._planned is not None or self._build_failure is not None:
            return
        try:
            order = self.project.upgrade_order()
        except ProjectError:
            return
        self._planned = self._plan(order)

    def stop_workers(self) -> None:
        """The build never ran (the files stage failed, the run's time ran out): end what
        start_workers forked."""
        planned, self._planned = self._planned, None
        if planned is not None and planned.split is not None:
            planned.split.end(self)
        side, self.side = self.side, None
        if side is not None:
            side.stop()

    def _plan(self, order: list[Script]) -> Build:
        build = Build(order, walked=order)
        if self.split_planner is not None and self.scope is None and self.snapshot_every_step:
            build.split = self.split_planner(self, build)
        # A short history is built before the models would be: building them ahead too would
        # only take the other core from whatever else runs on it.
        self.build_models_ahead = self.build_models_ahead and len(order) >= MODELS_AHEAD_FROM
        if build.split is None and (self.run_ahead or self.build_models_ahead):
            self.side = segments.start_side(self)
        return build

    def _apply_history(self, build: Build, db: Database) -> None:
        record_from = build.split.stop if build.split is not None else 0
        if self.checkpoint_planner is not None:
            build.checkpoints = self.checkpoint_planner(self, build)
        walk = self.walk_up(db, build.walked, record_from if self.snapshot_every_step else None, "fresh",
                            note_rows=build.split is not None, checkpoints=build.checkpoints,
                            measure=self.project.settings.measure)
        if build.split is not None:
            build.split.rows = walk.rows
        build.error = walk.error
        build.before, build.after = walk.before, walk.after
        build.head, build.snapshot_mismatch = walk.head, walk.mismatch
        build.measured = walk.measured
        # Nothing that clones the migrated database may inherit the log.
        build.tracker = walk.finish_tracking(self)

    def walk_up(self, db: Database, order: list[Script], record_from: int | None, label: str,
                note_rows: bool = False, checkpoints: Checkpoints | None = None,
                measure: bool = False) -> Walk:
        """Apply `order` to `db` in one run of env.py, recording the schema before and after
        each revision from `order[record_from]` on (None: only at the end, in full), with
        `note_rows` what the rows add up to just before `order[record_from]`, and with
        `measure` what each revision's statements lock, rewrite and scan; one run of env.py
        more per copy `checkpoints` asks for, which it fills in."""
        walk = Walk(tracker=self.track(db) if record_from is not None else None, database=db)
        previous = None
        applied = 0
        meter = None

        def take(connection) -> Snapshot:
            return self.snapshot(connection, walk.tracker)

        def first(connection) -> None:
            """Just before order[record_from]: the schema it starts from, and its rows."""
            nonlocal previous
            previous = take(connection)
            if note_rows:
                walk.rows = rows.fingerprint(connection, self.version_table)

        def start(connection, first_run: bool) -> None:
            nonlocal meter
            # Taken inside env.py's run: what env.py sets up before any revision (the version
            # table's schema, say) is part of the base every downgrade must return to.
            if first_run and record_from == 0:
                first(connection)
            if measure:  # on each run's connection
                meter = RemoteMeter(connection, self.version_table) if hasattr(connection, "fetch_batch") \
                    else measuring.attach(connection, self.version_table)

        def record(revision: Script, connection) -> None:
            nonlocal previous, applied
            applied += 1
            if meter is not None:
                walk.measured[revision.revision] = meter.take()
            if record_from is not None and applied > record_from:
                walk.before[revision.revision] = previous
                previous = walk.after[revision.revision] = take(connection)
            elif record_from is not None and applied == record_from:
                first(connection)
            counted = checkpoints is not None and applied - 1 in checkpoints.states
            if counted:
                schema = walk.after.get(revision.revision) or snapshot_of(connection, self.version_table)
                checkpoints.states[applied - 1] = State(schema, rows.counts(connection, self.version_table))
            if checkpoints is not None and applied - 1 in checkpoints.ties:
                checkpoints.ties[applied - 1] = ties(connection)
            self.progress.step(label, applied, len(order), revision.revision)
            if meter is not None:
                # The rows were read from the tables themselves, not the catalogs.
                meter.resume(reread=(note_rows and applied == record_from) or counted)

        copies = checkpoints.copies if checkpoints is not None else {}
        bounds = [0, *sorted(i for i in copies if 0 < i < len(order) and order[i]._all_down_revisions),
                  len(order)]
        try:
            for piece, (begin, end) in enumerate(zip(bounds, bounds[1:], strict=False)):
                if begin in copies:
                    if begin and not self.committed(db):
                        walk.error = _uncommitted(order[begin - 1])
                        return walk
                    copies[begin] = self._copy(db, walk.tracker is not None)
                try:
                    self.project.run_steps(db, order[begin:end], upgrade=True, after_step=record,
                                           before_steps=functools.partial(start, first_run=piece == 0))
                finally:
                    if meter is not None:
                        meter.detach()
                        meter = None
        except MigrationError as exc:
            walk.error = exc
            return walk
        if order and not self.committed(db):
            walk.error = _uncommitted(order[-1])
            return walk
        if record_from is None or walk.tracker is not None:
            with self.server.connect(db.name) as conn:
                full = snapshot_of(conn, self.version_table)
            if walk.tracker is not None and full != previous:
                walk.mismatch = describe_mismatch(full, previous)
            previous = full
        walk.head = previous
        return walk

    def _copy(self, db: Database, tracked: bool) -> str:
        """A copy of `db` to clone from, without the DDL log."""
        name = self.server.create_database("checkpoint", template=db.name)
        if tracked:
            with self.server.connect(name) as conn:
                tracking.remove(conn)
        return name

    def committed(self, db: Database) -> bool:
        """Whether another session sees the version table env.py wrote."""
        try:
            return bool(self.project.current_heads(db))
        except Exception:  # noqa: BLE001 - no version table at all: nothing was committed
            return False


def _uncommitted(last: Script) -> MigrationError:
    return MigrationError(
        "env.py ran the revisions but committed nothing", revision=last.revision, path=last.path,
        db_error="env.py ran every revision, but after it returned the database holds none of "
                 "it (no version row): its connection's transaction was never committed; with "
                 "SQLAlchemy 2, open the connection before any other statement and run the "
                 "migrations inside context.begin_transaction(), or call connection.commit()")
