"""What each revision asks of Alembic, read without a database.

Every revision is run the way `alembic upgrade --sql` runs it: through the project's own
env.py in offline mode. Two things are recorded per revision: the operations its
upgrade() invoked on `op` (drop_table, add_column, execute, bulk_insert ...) and the SQL
text offline mode wrote for them. A revision that cannot run offline (it reads from
`op.get_bind()`, say) is reported with its error, and the rest of the history still runs.
If env.py itself has no working offline mode, revisions run in a bare offline context
instead, so the rules still see them.

The downgrades are read in the same run of env.py: right after a revision's upgrade(),
its downgrade() runs in the same offline context with its SQL written aside, so the
upgrade's SQL (one session, whose transaction state lint follows) is the same as
`alembic upgrade --sql` writes. Only a downgrade's operations and error are kept: that is
all the rules read of it. A second run of env.py over a downgrade path would cost the
env.py run and Alembic's head bookkeeping, which walks the ancestors on every downgrade
step (quadratic in the history's length).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from alembic.operations import Operations
from alembic.operations.ops import MigrateOperation
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import Script
from sqlalchemy.exc import CompileError

from checks.errors import ProjectError
from checks.project import missing
from checks.project.limits import RevisionWatch
from checks.project.project import Captured, Database, Project, StepState, first_line
from checks.project.source_lines import call_sites, line_in
from harness.server import Endpoint

try:
    from alembic.operations.base import AbstractOperations as _OperationsBase
except ImportError:  # Alembic < 1.11: batch operations subclass Operations itself
    _OperationsBase = Operations

# env.py may build its URL from environment variables; offline mode never connects.
OFFLINE_ENDPOINT = Endpoint("offline.invalid", 5432, "offline", "offline")
OFFLINE_DATABASE = "alembic_preflight_offline"


@dataclass
class RevisionCapture:
    script: Script
    operations: list[MigrateOperation] = field(default_factory=list)
    sql: str = ""
    # Per operation: where in `sql` its statements start, and the stack that invoked it.
    offsets: list[int] = field(default_factory=list)
    sites: list[tuple] = field(default_factory=list)
    error: str | None = None  # why the revision could not run offline
    reported: bool = True  # lint reports on it; else only its SQL is kept (`sites` stays empty)


@dataclass
class Capture:
    """The whole history upgraded, as offline mode sees it, and the downgrades asked for."""

    revisions: list[RevisionCapture]
    downgrades: dict[str, RevisionCapture] = field(default_factory=dict)  # revision -> its downgrade()
    preamble: str = ""  # SQL env.py emitted before the first revision's first operation
    env_error: str | None = None  # env.py has no working offline mode; a bare context was used
    version_table: str = "alembic_version"

    def by_id(self) -> dict[str, RevisionCapture]:
        return {c.script.revision: c for c in self.revisions}

    def downgrade(self, script: Script) -> RevisionCapture:
        """A fresh record of the revision's downgrade() (a rerun replaces an earlier one)."""
        self.downgrades[script.revision] = RevisionCapture(script)
        return self.downgrades[script.revision]


class _Recorder:
    """Collects invoked operations and cuts the SQL buffer at each revision boundary."""

    def __init__(self, buffer: io.StringIO) -> None:
        self.buffer = buffer
        self.current: list[MigrateOperation] = []
        self.offsets: list[int] = []
        self.sites: list[tuple] = []
        self.first_op_at: int | None = None
        self.keep_sites = True  # call sites only serve findings, so only a reported revision's

    def record(self, operation: MigrateOperation) -> None:
        if self.first_op_at is None:
            self.first_op_at = self.buffer.tell()
        self.current.append(operation)
        self.offsets.append(self.buffer.tell())
        if self.keep_sites:
            self.sites.append(call_sites())

    def take(self, item: RevisionCapture, start: int = 0) -> None:
        """Hand the operations recorded since the last take to `item`, whose SQL starts
        at `start` in the buffer."""
        item.operations, self.current = self.current, []
        item.offsets, self.offsets = [o - start for o in self.offsets], []
        item.sites, self.sites = self.sites, []


class _Recording:
    """Where invoked operations go: the run's recorder, or one set aside for a downgrade."""

    def __init__(self, recorder: _Recorder) -> None:
        self.recorder = recorder

    @contextlib.contextmanager
    def aside(self, recorder: _Recorder) -> Iterator[None]:
        saved, self.recorder = self.recorder, recorder
        try:
            yield
        finally:
            self.recorder = saved


@contextlib.contextmanager
def _recording(recorder: _Recorder) -> Iterator[_Recording]:
    original = _OperationsBase.invoke
    recording = _Recording(recorder)

    def invoke(self, operation):
        recording.recorder.record(operation)
        return original(self, operation)

    _OperationsBase.invoke = invoke
    try:
        yield recording
    finally:
        _OperationsBase.invoke = original


def capture(project: Project, revisions: list[Script], endpoint: Endpoint | None = None,
            reported: Collection[str] | None = None) -> Capture:
    """Upgrade these revisions (in history order) offline, one env.py run per stretch of
    revisions that run cleanly; the `reported` ones (all by default) also downgrade, and
    keep the call sites of their operations.

    env.py is handed a PostgreSQL URL, as online runs are: the server under test's
    (`endpoint`) or a placeholder, never alembic.ini's (often SQLite, or `driver://...`),
    so the SQL is PostgreSQL's. Its database does not exist and it carries no password:
    offline mode never connects, a revision that does anyway fails there, as it would
    under `alembic upgrade --sql`, and no secret reaches a finding.
    """
    served = dataclasses.replace(endpoint, password="") if endpoint else OFFLINE_ENDPOINT
    database = Database(served, OFFLINE_DATABASE)
    result = Capture([RevisionCapture(r, reported=reported is None or r.revision in reported)
                      for r in revisions])
    pending = list(result.revisions)
    first = True
    while pending:
        done, failure, started = _run_env(project, database, pending, result, first)
        if failure is not None and not started and first:
            # env.py failed before the first revision: it cannot run offline.
            result.env_error = failure
            # Revision code prints here too: into the project's log, as under env.py.
            with project.env.active(database.endpoint, database.name):
                for item in pending:
                    _run_bare(project, item, True)
                    if item.reported:
                        _run_bare(project, result.downgrade(item.script), False)
            break
        first = False
        pending = pending[done:]
        if failure is not None and pending:
            pending[0].error = failure
            pending = pending[1:]
        elif failure is None:
            break
    return result


def _run_env(project: Project, database: Database, items: list[RevisionCapture], result: Capture,
             first: bool) -> tuple[int, str | None, bool]:
    """Returns how many revisions completed, why one failed (if one did), and whether
    env.py got as far as the revisions."""
    buffer = io.StringIO()
    recorder = _Recorder(buffer)
    recorder.keep_sites = items[0].reported
    state = StepState()
    options = Captured()  # offline configure options must not replace the online ones drift uses
    mark = 0
    contexts = []

    def record(revision, _context):
        nonlocal mark
        item = items[state.done - 1]
        recorder.take(item, mark)
        item.sql = buffer.getvalue()[mark:]
        mark = buffer.tell()
        if state.done < len(items):
            recorder.keep_sites = items[state.done].reported

    def then_downgrade(script: Script):
        def wrap(upgrade):
            @functools.wraps(upgrade)  # Alembic names the step after it: "-- Running upgrade ..."
            def run(**kw):
                upgrade(**kw)
                _downgrade_aside(contexts[0], recording, result.downgrade(script), kw)
            return run
        return wrap

    def started(context: MigrationContext) -> None:
        contexts.append(context)
        _render_literals(context.impl)

    cfg = project.config(database)
    cfg.output_buffer = buffer
    replace = {index: then_downgrade(item.script) for index, item in enumerate(items) if item.reported}
    try:
        with project.env.active(database.endpoint, database.name), _recording(recorder) as recording:
            project.drive_steps(cfg, [item.script for item in items], True, state, record,
                                on_start=started, captured=options, replace=replace, as_sql=True,
                                starting_rev=_starting_rev(items[0].script))
    except BaseException as exc:  # noqa: BLE001 - whatever the revision or env.py raised
        if isinstance(exc, KeyboardInterrupt):
            raise
        explained = None if state.started else missing.explain(exc, project.root, project.ini_path,
                                                              project.env.paths)
        if explained:
            # Not an env.py without offline mode: one that cannot start at all.
            raise ProjectError(explained) from None
        where = "" if state.started else " (env.py, before any revision ran)"
        return state.done, f"{type(exc).__name__}: {first_line(exc)}{where}", state.started
    finally:
        if first:
            result.version_table = options.version_table
            if recorder.first_op_at is not None:
                result.preamble = buffer.getvalue()[:recorder.first_op_at]
    if not state.started:
        # Its offline branch returned without migrating (a loop over tenants that finds
        # none offline, say): reading nothing must not pass for reading a clean history.
        return 0, ("env.py's offline mode returned without running any migration "
                   "(context.run_migrations() was never called in it)"), False
    return state.done, None, state.started


def _render_literals(impl) -> None:
    """Values as SQL literals, as the generic template's offline branch asks for them.

    Without `literal_binds=True` offline mode writes `SET name=%(name)s`: how the script
    spells a parameter, not a statement that fails when the revision runs. A value with no
    literal form (a JSONB list, say) is written as env.py would write it, so a revision that
    runs offline under env.py runs here too.
    """
    theirs, execute = impl.literal_binds, impl._exec

    def _exec(construct, *args, **kwargs):
        impl.literal_binds = True
        try:
            return execute(construct, *args, **kwargs)
        except CompileError:
            impl.literal_binds = theirs  # it failed compiling, before writing anything
            return execute(construct, *args, **kwargs)
        finally:
            impl.literal_binds = theirs

    impl._exec = _exec


def _starting_rev(first: Script) -> str | None:
    # Offline mode keeps the version table's heads in memory, starting from this.
    parents = first._all_down_revisions
    return ",".join(parents) if parents else None


def _downgrade_aside(context: MigrationContext, recording: _Recording, item: RevisionCapture,
                     run_args: dict) -> None:
    """The revision's downgrade(), in the context its upgrade() just ran in, its SQL
    written aside. A failure is the downgrade's (as it is when a downgrade run stops
    there); a BaseException (a time limit, an interrupt) ends the step as any would."""
    impl = context.impl
    output, impl.output_buffer = impl.output_buffer, io.StringIO()
    recorder = _Recorder(impl.output_buffer)
    recorder.keep_sites = False
    try:
        with recording.aside(recorder):
            item.script.module.downgrade(**run_args)
    except Exception as exc:  # noqa: BLE001 - the revision's own code failed offline
        item.error = f"{type(exc).__name__}: {first_line(exc)}"
    finally:
        impl.output_buffer = output
        recorder.take(item)


def _run_bare(project: Project, item: RevisionCapture, upgrade: bool) -> None:
    """One revision in a bare PostgreSQL offline context, bypassing env.py: set up as
    `alembic upgrade --sql` sets it up, so a revision asking `context.is_offline_mode()`
    (or reading `context.config`) gets its answer."""
    buffer = io.StringIO()
    recorder = _Recorder(buffer)
    module = item.script.module
    function = module.upgrade if upgrade else module.downgrade
    watch = RevisionWatch(project.limits, None, [item.script], [upgrade], StepState())
    cfg = project.config()
    cfg.output_buffer = buffer
    try:
        with watch.reporting(), EnvironmentContext(cfg, project.script, as_sql=True) as environment, \
                _recording(recorder):
            environment.configure(dialect_name="postgresql", as_sql=True, output_buffer=buffer,
                                  literal_binds=True)
            context = environment.get_context()
            watch.attach(context)
            with Operations.context(context):
                function()
    except Exception as exc:  # noqa: BLE001 - the revision's own code failed offline
        item.error = f"{type(exc).__name__}: {first_line(exc)}"
    recorder.take(item)
    item.sql = buffer.getvalue()


def revision_file(item: RevisionCapture) -> str:
    return Path(item.script.path).name


def operation_line(item: RevisionCapture, offset: int | None) -> int | None:
    """The revision file's line of the operation whose SQL holds `offset`."""
    if offset is None or not item.offsets:
        return None
    index = max((i for i, start in enumerate(item.offsets) if start <= offset), default=0)
    return line_in(item.sites[index], item.script.path)
