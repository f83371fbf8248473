"""What each revision asks of Alembic, read without a database.

Every revision is run the way `alembic upgrade --sql` runs it: through the project's own
env.py in offline mode, by `projectside.offline`, in the project's own Python when it has
one (--python) and here otherwise; either way the same plain data comes back per
revision: the operations its upgrade() invoked on `op` (drop_table, add_column, execute,
bulk_insert ...) as `Operation`s, the SQL text offline mode wrote for them, and the
operations of its downgrade(). A revision that cannot run offline (it reads from
`op.get_bind()`, say) is reported with its error, and the rest of the history still runs.
If env.py itself has no working offline mode, revisions run in a bare offline context
instead, so the rules still see them. Every run is under the revision time limits.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from dataclasses import dataclass, field

from alembic.script import Script

from checks.errors import ProjectError
from checks.project import missing, remote
from checks.project.environment import url_string
from checks.project.limits import RevisionWatch
from checks.project.project import Database, Project, StepState, first_line
from checks.project.remote import RemoteError, StartedContext
from harness.server import Endpoint
from projectside import offline

# env.py may build its URL from environment variables; offline mode never connects.
OFFLINE_ENDPOINT = Endpoint("offline.invalid", 5432, "offline", "offline")
OFFLINE_DATABASE = "alembic_preflight_offline"


@dataclass(frozen=True)
class Operation:
    """One operation a revision invoked on `op`, as lint reads it
    (`projectside.offline.operation_data`)."""

    kind: str  # Alembic's class name: "AddColumnOp", "ExecuteSQLOp" ...
    table: str | None = None  # the table it acts on: "name", or "schema.name"
    sql: str | None = None  # op.execute() given SQL text: the text
    construct: str | None = None  # op.execute() given a SQLAlchemy statement: "data" or "select"


@dataclass
class RevisionCapture:
    script: Script
    operations: list[Operation] = field(default_factory=list)
    sql: str = ""
    # Per operation: where in `sql` its statements start, and the revision file's line
    # that invoked it (only a reported revision's: lines only serve findings).
    offsets: list[int] = field(default_factory=list)
    lines: list[int | None] = field(default_factory=list)
    error: str | None = None  # why the revision could not run offline
    reported: bool = True  # lint reports on it; else only its SQL is kept (`lines` stays empty)

    def fill(self, entry: dict) -> None:
        """From the record `projectside.offline` sent with the revision's step."""
        self.sql = entry["sql"]
        self.operations = [Operation(**data) for data in entry["operations"]]
        self.offsets, self.lines = entry["offsets"], entry["lines"]
        if entry["error"] is not None:
            self.error = _said(RemoteError(entry["error"]))


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


Plan = list[tuple[RevisionCapture, bool]]  # (the revision's record, upgrade?) per step


def capture(project: Project, revisions: list[Script], endpoint: Endpoint | None = None,
            reported: Collection[str] | None = None) -> Capture:
    """Upgrade these revisions (in history order) offline, one env.py run per stretch of
    revisions that run cleanly; the `reported` ones (all by default) also downgrade, and
    keep the lines of their operations.

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
            _run_bare(project, database, pending, result)
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
    parents = items[0].script._all_down_revisions
    answer, failure, state = _run(project, database, [(item, True) for item in items], result,
                                  starting_rev=list(parents) or None)
    if first:
        result.version_table = answer.get("version_table") or "alembic_version"
        result.preamble = answer.get("preamble") or ""
    if failure is not None:
        explained = None if state.started else missing.explain(failure, project)
        if explained:
            # Not an env.py without offline mode: one that cannot start at all.
            raise ProjectError(explained) from None
        where = "" if state.started else " (env.py, before any revision ran)"
        return state.done, f"{_said(failure)}{where}", state.started
    if not state.started:
        # Its offline branch returned without migrating (a loop over tenants that finds
        # none offline, say): reading nothing must not pass for reading a clean history.
        return 0, ("env.py's offline mode returned without running any migration "
                   "(context.run_migrations() was never called in it)"), False
    return state.done, None, True


def _run_bare(project: Project, database: Database, items: list[RevisionCapture], result: Capture) -> None:
    """Each revision in a bare offline context, bypassing env.py; a reported one's
    downgrade() too."""
    plan = [(item, upgrade) for item in items for upgrade in ((True, False) if item.reported else (True,))]
    while plan:
        _answer, failure, state = _run(project, database, plan, result, bare=True)
        plan = plan[state.done:]
        if failure is None or not plan:
            break
        item, upgrade = plan.pop(0)
        (item if upgrade else result.downgrade(item.script)).error = _said(failure)


def _run(project: Project, database: Database, plan: Plan, result: Capture, bare: bool = False,
         starting_rev: list[str] | None = None) -> tuple[dict, BaseException | None, StepState]:
    """One offline run of `plan`, here or in the project's process, under the revision time
    limits: each step's record fills the step's RevisionCapture as it comes. Returns what
    the run ended with, what ended it (a revision past its limit as a MigrationError), and
    how far it got."""
    state = StepState()
    process = project.process
    watch = RevisionWatch(project.limits, None, [item.script for item, _ in plan], [up for _, up in plan],
                          state, interrupt=process.agent.interrupt if process is not None else None)

    def on_event(name: str, data: dict) -> None:
        if name == "started":
            state.started = True
            watch.attach(StartedContext(None, data))
        elif name == "step":
            item, upgrade = plan[state.done]
            (item if upgrade else result.downgrade(item.script)).fill(data["entry"])
            if data.get("downgrade") is not None:
                result.downgrade(item.script).fill(data["downgrade"])
            state.done += 1
            with watch.paused():
                pass  # the next revision's clock starts as this block ends

    args = {"plan": [[item.script.revision, upgrade] for item, upgrade in plan],
            "reported": [item.script.revision for item, upgrade in plan if upgrade and item.reported],
            "bare": bare, "starting_rev": starting_rev}
    answer: dict = {}
    try:
        with watch.reporting():
            if process is not None:
                where = (database.endpoint, database.name)
                url = None if bare else url_string(project.env.url(*where))
                answer, failed = remote.offline(project, on_event, url=url,
                                                variables=project.env.variables(*where), **args)
            else:
                with project.env.active(database.endpoint, database.name):
                    cfg = project.config(None if bare else database)
                    answer, failed = offline.capture(project, cfg, event=on_event, within=project.in_context,
                                                     **args)
            if failed is not None:
                raise failed
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - whatever the revision or env.py raised, SystemExit too
        return answer, exc, state
    return answer, None, state


def _said(failure: BaseException) -> str:
    """`Type: its first line`, for an exception here or one from the project's process."""
    return f"{getattr(failure, 'type_name', type(failure).__name__)}: {first_line(failure)}"


def operation_line(item: RevisionCapture, offset: int | None) -> int | None:
    """The revision file's line of the operation whose SQL holds `offset`."""
    if offset is None or not item.offsets:
        return None
    index = max((i for i, start in enumerate(item.offsets) if start <= offset), default=0)
    return item.lines[index] if index < len(item.lines) else None
