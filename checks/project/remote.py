"""A project run in its own Python: the history it loads there, described as data, and
env.py's runs, driven from here step by step.

`ProjectProcess` keeps one process of the project's interpreter (`checks.project.agent`)
for the run, started on first use: it loads the revisions inside the project's context
once, and runs env.py over the steps a stage asks for. Between steps, the stage's
callbacks see the migration's connection as an `AgentConnection` (statements sent to the
project's process, run there inside the migration's transaction). The history comes back
as `RemoteHistory`: Alembic's revision graph over plain revisions, so the stages order,
walk and name revisions exactly as they do for a history loaded here, and nothing of the
project's code is imported into the suite's process.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.script.revision import Revision, RevisionMap

from checks.errors import MigrationError, ProjectError
from checks.project.agent import Agent, AgentConnection, AgentFailure, opening


class RemoteRevision(Revision):
    """A revision as the project's process described it: what the stages read of Alembic's
    Script (id, parents, labels, file, message), with no module behind it."""

    module = None

    def __init__(self, data: dict) -> None:
        down = data["down_revision"]
        super().__init__(data["revision"], tuple(down) if len(down) > 1 else (down[0] if down else None),
                         dependencies=tuple(data["dependencies"]) or None,
                         branch_labels=tuple(data["branch_labels"]) or None)
        self.path = data["path"]
        self.doc = data["doc"]
        self.has_upgrade = data["has_upgrade"]
        self.has_downgrade = data["has_downgrade"]

    def __repr__(self) -> str:
        return f"<RemoteRevision {self.revision} {Path(self.path).name}>"


class RemoteHistory:
    """The part of Alembic's ScriptDirectory the stages use, over a described history."""

    def __init__(self, data: dict) -> None:
        self.dir = data["dir"]
        self._version_locations = list(data["version_locations"])
        self.version_locations = list(data["version_locations"])
        self.recursive_version_locations = bool(data.get("recursive_version_locations"))
        revisions = [RemoteRevision(item) for item in data["revisions"]]
        self.revision_map = RevisionMap(lambda: revisions)
        self.revision_map.heads  # noqa: B018 - builds the map: each revision's parents resolved
        self.order = list(revisions)

    # Alembic's own graph logic, which reads nothing but the revision map: the same answers
    # (and the same CommandErrors) as for a history loaded in this process.
    _catch_revision_errors = ScriptDirectory._catch_revision_errors
    get_revision = ScriptDirectory.get_revision
    get_revisions = ScriptDirectory.get_revisions
    get_heads = ScriptDirectory.get_heads
    get_bases = ScriptDirectory.get_bases
    iterate_revisions = ScriptDirectory.iterate_revisions
    walk_revisions = ScriptDirectory.walk_revisions
    _upgrade_revs = ScriptDirectory._upgrade_revs
    _downgrade_revs = ScriptDirectory._downgrade_revs
    _stamp_revs = ScriptDirectory._stamp_revs


class RemoteError(Exception):
    """A failure in the project's process, with what the suite's explanations read of an
    exception: its message, the database's error, the missing module, and the frames."""

    def __init__(self, details: dict) -> None:
        super().__init__(details.get("message") or details.get("type"))
        self.details = details
        self.type_name = str(details.get("type"))
        own = [(file, line) for file, line, _name in details.get("frames") or ()]
        self.remote_frames = [own, *([(file, line) for file, line, _name in frames]
                                     for frames in details.get("context_frames") or ())]
        self.missing_module = details.get("missing_module")

    @property
    def database_error(self) -> str | None:
        return self.details.get("database_error")


class StartedContext:
    """What the suite's start-of-run checks read of Alembic's MigrationContext, from the
    project's process: the connection, the heads env.py's version table held, offline or not."""

    def __init__(self, connection: AgentConnection, data: dict) -> None:
        self.as_sql = bool(data.get("as_sql"))
        self.options = data.get("options") or {}  # what env.py passed to context.configure, as data
        self.connection = None if self.as_sql else connection
        self._heads = tuple(data.get("heads") or ())

    def get_current_heads(self) -> tuple[str, ...]:
        return self._heads


class ProjectProcess:
    """One process of the project's Python for the whole run (a forked worker starts its own)."""

    def __init__(self, project, python: str, source: str = "--python") -> None:
        self.project = project
        self.python = python
        self.source = source  # why this interpreter (checks.project.interpreter.choose)
        self._agent: Agent | None = None
        self._pid: int | None = None
        self._history: RemoteHistory | None = None
        self._facts: dict | None = None

    @property
    def agent(self) -> Agent:
        if self._agent is not None and self._pid != os.getpid():
            self._agent = None  # a forked worker: the parent's pipes are the parent's
        if self._agent is not None and not self._agent.alive():
            self._agent.close()
            self._agent = None
        if self._agent is None:
            env = self.project.env
            agent = Agent(self.python, output=env.output)
            default = env.default_database
            try:
                agent.request("open", **opening(self.project),
                              variables=env.variables(*default) if default else None)
            except AgentFailure as exc:
                agent.close()
                raise ProjectError(f"the project's Python ({self.python}) cannot open the project: "
                                   f"{exc.details.get('message')}") from None
            self._agent, self._pid = agent, os.getpid()
        return self._agent

    def request(self, op: str, on_event=None, **args):
        """`op` in the project's process. A failure of the suite's own callback (or the run's
        end) while env.py waits leaves that process mid-run: it is ended, and the next request
        starts another."""
        agent = self.agent
        try:
            return agent.request(op, on_event=on_event, **args)
        except AgentFailure:
            raise
        except BaseException:
            if agent is self._agent:
                self._agent = None
            agent.abandon()
            raise

    def facts(self) -> dict:
        """Its Python, Alembic, SQLAlchemy and drivers (`projectside.facts.describe`)."""
        if self._facts is None:
            self._facts = self.request("facts")
        return self._facts

    def describe(self) -> str:
        """'/app/.venv/bin/python (.venv): Python 3.9.2, SQLAlchemy 1.3.24, Alembic 1.5.8'."""
        facts = self.facts()
        versions = ", ".join(f"{name} {facts.get(key) or 'not installed'}" for name, key in (
            ("Python", "python"), ("SQLAlchemy", "sqlalchemy"), ("Alembic", "alembic")))
        return f"{self.python} ({self.source}): {versions}"

    def history(self) -> RemoteHistory:
        if self._history is None:
            self._history = RemoteHistory(self.request("history"))
        return self._history

    def bootstrap(self, hook: str, url: str, variables: dict) -> None:
        try:
            self.request("bootstrap", hook=hook, url=url, variables=variables)
        except AgentFailure as exc:
            raise ProjectError(str(exc.details.get("message"))) from None

    def close(self) -> None:
        if self._agent is not None and self._pid == os.getpid():
            self._agent.close()
        self._agent = None


def walk_events(connection: AgentConnection, start: Callable[[StartedContext], None],
                step: Callable[[], None], before_function: Callable[[int], None],
                skip: Callable[[int], bool]) -> Callable[[str, dict], object]:
    """The handler for a walk's events: env.py configured, a step done, a step's function
    about to run, a step that may be skipped (its answer goes back to the walk)."""

    def on_event(name: str, data: dict):
        connection.autocommit = bool(data.get("autocommit"))
        connection.measured = data.get("measured")
        try:
            if name == "started":
                start(StartedContext(connection, data))
                return {"measure": connection.measure} if connection.measure else None
            elif name == "step":
                step()
                return {"reread": connection.reread}
            elif name == "before_function":
                before_function(int(data["index"]))
            elif name == "skip":
                return skip(int(data["index"]))
        except (MigrationError, ProjectError):
            raise
        except Exception as exc:
            raise CallbackFailed from exc
        return None

    return on_event


class CallbackFailed(Exception):
    """Marks an exception from the suite's own callback during a walk, so that it is not
    blamed on the project (its cause keeps the traceback)."""


def run_steps(project, database, revisions: list, upward: list[bool], state, start: Callable,
              after_step: Callable | None, before_function: dict, undone: Callable[[int], bool] | None,
              commit_each: bool) -> None:
    """`Project.run_steps` in the project's process: the walk runs there, each of its events
    is answered here (the stage's callbacks, given the migration's connection as an
    `AgentConnection`), under the same time limits. A failure of env.py or a revision
    comes back as a RemoteError for run_steps to explain; the callbacks' own errors are
    raised as they are."""
    from checks.project.environment import url_string
    from checks.project.limits import RevisionWatch

    process = project.process
    agent = process.agent
    connection = agent.connection()
    connection.own_url = database.url  # where the suite reads what an autocommit walk committed
    watch = RevisionWatch(project.limits, database, revisions, upward, state, interrupt=agent.interrupt)

    def started(context: StartedContext) -> None:
        project.captured.options = dict(context.options)
        start(context)
        state.started = True
        watch.attach(context)

    def step() -> None:
        revision = revisions[state.done]
        state.done += 1
        with watch.paused():  # the next revision's clock starts when it ends
            if after_step is not None:
                after_step(revision, connection)

    def before(index: int) -> None:
        with watch.paused():
            before_function[index](connection)

    def skip(index: int) -> bool:
        if not undone(index):
            return False
        with watch.paused():  # its clock starts again on the step after
            state.done += 1
        return True

    url = url_string(database.endpoint.url(database.name, project.drivers.shared))
    plan = [[revision.revision, up] for revision, up in zip(revisions, upward, strict=True)]
    with watch.reporting():
        try:
            answer = process.request(
                "run", walk_events(connection, started, step, before, skip),
                plan=plan, url=url,
                variables=project.env.variables(database.endpoint, database.name),
                pause_before=sorted(before_function), ask_skip=undone is not None, commit_each=commit_each)
        except AgentFailure as failure:
            raise RemoteError(failure.details) from None
        if answer.get("error"):
            raise RemoteError(answer["error"])


def offline(project, on_event: Callable[[str, dict], object], **args) -> tuple[dict, RemoteError | None]:
    """One of lint's offline runs, in the project's process (`projectside.offline.capture`):
    what the run ended with, and the failure that ended it."""
    try:
        answer = project.process.request("offline", on_event, **args)
    except AgentFailure as failure:
        return {}, RemoteError(failure.details)
    error = answer.pop("error", None)
    return answer, RemoteError(error) if error else None


class RemoteMeter:
    """`projectside.measure`'s meter as the walk in the project's process keeps it: asked for
    as env.py starts, its measurement of each revision sent with the step."""

    def __init__(self, connection: AgentConnection, version_table: str) -> None:
        self._connection = connection
        connection.measure = version_table

    def take(self) -> dict:
        return self._connection.measured or {}

    def resume(self, reread: bool = False) -> None:
        self._connection.reread = reread

    def detach(self) -> None:
        self._connection.measure = None
