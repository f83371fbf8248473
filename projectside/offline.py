"""What each revision asks of Alembic, read without a database, as plain data for lint.

Every revision is run the way `alembic upgrade --sql` runs it: through the project's own
env.py in offline mode (`OfflineWalk`). Per revision, the operations its upgrade() invoked
on `op` (drop_table, add_column, execute, bulk_insert ...) are recorded as data, with
where in the SQL offline mode wrote each one starts and the revision file's line that
invoked it, along with the SQL text itself. If env.py has no working offline mode, the
revisions run in a bare offline context instead (`BareRun`), so lint still reads them.

The downgrades are read in the same run of env.py: right after a revision's upgrade(),
its downgrade() runs in the same offline context with its SQL written aside, so the
upgrade's SQL (one session, whose transaction state lint follows) is the same as
`alembic upgrade --sql` writes. Only a downgrade's operations and error are kept: that is
all the rules read of it. A second run of env.py over a downgrade path would cost the
env.py run and Alembic's head bookkeeping, which walks the ancestors on every downgrade
step (quadratic in the history's length).

Each revision's record goes to the suite with the "step" event that ends it, so what was
read survives a run that ends later (at a time limit, say).
"""

from __future__ import annotations

import functools
import io
import os
import sys

from alembic.operations import Operations, ops
from sqlalchemy.exc import CompileError
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.selectable import Selectable

from .errors import described
from .run import Paused, Walk

try:
    from alembic.operations.base import AbstractOperations as _OperationsBase
except ImportError:  # Alembic < 1.11: batch operations subclass Operations itself
    _OperationsBase = Operations

LINE_DEPTH = 40  # frames searched, from the recording one out, for the revision file's line


def operation_data(operation) -> dict:
    """An operation as lint reads it: Alembic's class name, the table it acts on (with its
    schema), and for op.execute() its SQL text, or what kind of SQLAlchemy statement it
    was given ("data" for an insert, update or delete, "select")."""
    data = {"kind": type(operation).__name__, "table": None, "sql": None, "construct": None}
    if isinstance(operation, ops.ExecuteSQLOp):
        sql = operation.sqltext
        if isinstance(sql, UpdateBase):
            data["construct"] = "data"
            data["table"] = _qualified(getattr(sql, "table", None))
        elif isinstance(sql, Selectable):
            data["construct"] = "select"
        else:
            text = sql if isinstance(sql, str) else getattr(sql, "text", None)
            data["sql"] = text if isinstance(text, str) else None
    elif isinstance(operation, ops.BulkInsertOp):
        data["table"] = _qualified(operation.table)
    else:
        data["table"] = _name(getattr(operation, "table_name", None), getattr(operation, "schema", None))
    return data


def _qualified(table) -> str | None:
    return _name(getattr(table, "name", None), getattr(table, "schema", None))


def _name(name, schema) -> str | None:
    if not isinstance(name, str):
        return None
    return f"{schema}.{name}" if isinstance(schema, str) and schema else name


class Recorder:
    """The operations invoked since the last take, where each one's SQL starts in `buffer`,
    and (for a revision lint reports on) the line of `path` that invoked each."""

    def __init__(self, buffer: io.StringIO, path: str | None = None) -> None:
        self.buffer = buffer
        self.path = path
        self.first_op_at = None
        self._clear()

    def _clear(self) -> None:
        self.operations, self.offsets, self.lines = [], [], []

    def record(self, operation) -> None:
        at = self.buffer.tell()
        if self.first_op_at is None:
            self.first_op_at = at
        self.operations.append(operation_data(operation))
        self.offsets.append(at)
        if self.path is not None:
            self.lines.append(_line_in(sys._getframe(), self.path))

    def take(self, start: int = 0, sql: str = "", error: dict | None = None) -> dict:
        """The record of a revision whose SQL (`sql`) starts at `start` in the buffer."""
        entry = {"sql": sql, "operations": self.operations, "offsets": [at - start for at in self.offsets],
                 "lines": self.lines, "error": error}
        self._clear()
        return entry


def _line_in(frame, path: str) -> int | None:
    """The innermost line of `path` on the stack: the `op.xxx(...)` line, or the line
    calling the project's own function that called op."""
    target = os.path.normcase(os.path.abspath(path))
    for _ in range(LINE_DEPTH):
        if frame is None:
            return None
        file = frame.f_code.co_filename
        if file == path or os.path.normcase(os.path.abspath(file)) == target:
            return frame.f_lineno
        frame = frame.f_back
    return None


class _Recording:
    """Every operation invoked on Alembic's Operations (batch ones too) goes to the run's
    current recorder while the block runs."""

    def __init__(self, run) -> None:
        self.run = run

    def __enter__(self) -> None:
        self.original = original = _OperationsBase.invoke
        run = self.run

        def invoke(operations, operation):
            run.recorder.record(operation)
            return original(operations, operation)

        _OperationsBase.invoke = invoke

    def __exit__(self, *exc_info) -> None:
        _OperationsBase.invoke = self.original


class OfflineWalk(Walk):
    """One run of env.py in offline mode over `plan` ([revision id, True] pairs); the
    revisions in `reported` also have their downgrade() read, and keep their lines."""

    def __init__(self, history, plan: list, reported: list, event) -> None:
        super().__init__(history, plan, event, Paused(), [], False, False)
        self.reported = set(reported)
        self.buffer = io.StringIO()
        self.main = self.recorder = Recorder(self.buffer)
        self.paths: list = []
        self.context = None
        self.mark = 0  # where the SQL of the step being run starts in the buffer
        self.downgrade = None  # the record of the step's downgrade(), sent with the step

    def capture(self, cfg, starting_rev=None) -> None:
        cfg.output_buffer = self.buffer
        with _Recording(self):
            # Offline mode keeps the version table's heads in memory, starting from `starting_rev`
            # (the parents of the stretch's first revision: both of a merge's).
            self.run(cfg, {"as_sql": True, "starting_rev": starting_rev})

    def steps(self) -> list:
        steps = super().steps()
        self.paths = [step.revision.path for step in steps]
        for step in steps:
            if step.revision.revision in self.reported:
                step.migration_fn = self._then_downgrade(step.revision, step.migration_fn)
        return steps

    def prepare(self, context) -> None:
        self.context = context
        _render_literals(context.impl)
        self._keep_lines(0)

    def applied(self, data: dict) -> dict:
        self.buffer.seek(self.mark)
        sql = self.buffer.read()
        data["entry"] = self.main.take(self.mark, sql)
        data["downgrade"], self.downgrade = self.downgrade, None
        self.mark = self.buffer.tell()
        self._keep_lines(self.done)
        return data

    def data(self) -> dict:
        """How far the run got, the SQL env.py wrote before the first operation, and the
        version table it configured."""
        first = self.main.first_op_at
        return {"started": self.started, "done": self.done,
                "preamble": self.buffer.getvalue()[:first] if first is not None else "",
                "version_table": str(self.options.get("version_table") or "alembic_version")}

    def _keep_lines(self, index: int) -> None:
        # Lines only serve findings, so only a reported revision's are kept.
        reported = index < len(self.plan) and self.plan[index][0] in self.reported
        self.main.path = self.paths[index] if reported else None

    def _then_downgrade(self, revision, upgrade):
        @functools.wraps(upgrade)  # Alembic names the step after it: "-- Running upgrade ..."
        def run(**kwargs):
            upgrade(**kwargs)
            self.downgrade = self._downgrade_aside(revision, kwargs)
        return run

    def _downgrade_aside(self, revision, run_args: dict) -> dict:
        """The revision's downgrade(), in the context its upgrade() just ran in, its SQL
        written aside. A failure is the downgrade's (as it is when a downgrade run stops
        there); a BaseException (a time limit, an interrupt) ends the step as any would."""
        impl = self.context.impl
        output, impl.output_buffer = impl.output_buffer, io.StringIO()
        self.recorder = Recorder(impl.output_buffer)
        error = None
        try:
            revision.module.downgrade(**run_args)
        except Exception as exc:  # noqa: BLE001 - the revision's own code failed offline
            error = described(exc)
        finally:
            impl.output_buffer = output
            aside, self.recorder = self.recorder, self.main
        return aside.take(error=error)


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


class BareRun:
    """`plan` ([revision id, upgrade?] pairs) run step by step in a bare PostgreSQL offline
    context, bypassing env.py: set up as `alembic upgrade --sql` sets it up, so a revision
    asking `context.is_offline_mode()` (or reading `context.config`) gets its answer. A
    step's failure is its own, and the next one runs; an upgrade of a revision in
    `reported` keeps its lines."""

    def __init__(self, history, plan: list, reported: list, event) -> None:
        self.history = history
        self.plan = plan
        self.reported = set(reported)
        self.event = event
        self.started = False
        self.done = 0
        self.recorder: Recorder | None = None

    def capture(self, cfg) -> None:
        from alembic.runtime.environment import EnvironmentContext

        script = self.history.script
        with _Recording(self):
            for revision_id, upgrade in self.plan:
                revision = script.get_revision(revision_id)
                buffer = io.StringIO()
                self.recorder = Recorder(buffer, revision.path if upgrade and revision_id in self.reported
                                         else None)
                cfg.output_buffer = buffer
                error = None
                try:
                    function = revision.module.upgrade if upgrade else revision.module.downgrade
                    with EnvironmentContext(cfg, script, as_sql=True) as environment:
                        environment.configure(dialect_name="postgresql", as_sql=True, output_buffer=buffer,
                                              literal_binds=True)
                        context = environment.get_context()
                        if not self.started:
                            self.started = True
                            self.event("started", {"as_sql": True})
                        with Operations.context(context):
                            function()
                except Exception as exc:  # noqa: BLE001 - the revision's own code failed offline
                    error = described(exc)
                self.done += 1
                self.event("step", {"index": self.done - 1,
                                    "entry": self.recorder.take(sql=buffer.getvalue(), error=error)})

    def data(self) -> dict:
        return {"started": self.started, "done": self.done, "preamble": "",
                "version_table": "alembic_version"}


def capture(history, cfg, plan: list, reported: list, event, within, bare: bool = False,
            starting_rev=None) -> tuple:
    """Run `plan` offline: through env.py, inside `within` (the project's context), or
    `bare`. Each revision's record goes to `event` with its step; returns what the run
    ends with (see `OfflineWalk.data`) and the exception that ended it, if one did."""
    run = BareRun(history, plan, reported, event) if bare else OfflineWalk(history, plan, reported, event)
    try:
        if bare:
            run.capture(cfg)
        else:
            within(lambda: run.capture(cfg, starting_rev))
    except BaseException as exc:  # noqa: BLE001 - whatever the revision or env.py raised, SystemExit too
        if isinstance(exc, KeyboardInterrupt):
            raise
        return run.data(), exc
    return run.data(), None
