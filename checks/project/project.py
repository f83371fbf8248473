"""A target Alembic project: its config, its revisions, and running them.

Every Alembic call goes through `run_steps`, which runs the project's own env.py (sync
or async) exactly as `alembic upgrade` would, but with an explicit list of one-revision
steps. One env.py run applies a whole list, and a callback after each step lets the
stages look at the schema in between, so no stage replays history from base per revision.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from alembic import op
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.script import Script, ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from checks.errors import MigrationError, ProjectError
from checks.project import driver, flask_app, interpreter, locations, missing, remote
from checks.project.agent import AgentFailure
from checks.project.environment import ProjectEnvironment, url_string
from checks.project.limits import Limits, RevisionWatch
from checks.project.remote import CallbackFailed, ProjectProcess, RemoteError
from checks.project.settings import Settings, load_settings
from checks.project.source_lines import traceback_line
from harness.server import Endpoint
from projectside.connection import lent_connection
from projectside.context import NO_METADATA
from projectside.imports import binds_on_import, imported_in_step
from projectside.run import capture_configure as configure_hook
from projectside.steps import Step


@dataclass
class Captured:
    """What env.py handed to context.configure on its last run."""

    options: dict = field(default_factory=dict)

    @property
    def target_metadata(self):
        return self.options.get("target_metadata")

    @property
    def version_table(self) -> str:
        return self.options.get("version_table") or "alembic_version"


@dataclass
class Database:
    """A database on the throwaway server, addressed the way env.py will see it."""

    endpoint: Endpoint
    name: str

    @property
    def url(self):
        """The suite's own connections (env.py's URL comes from ProjectEnvironment.url)."""
        return self.endpoint.url(self.name, driver.suite_driver())


StepCallback = Callable[[Script, object], None]  # (revision, SQLAlchemy connection)
StepReplacements = dict[int, Callable[[Callable], Callable]]  # step index -> wraps its function
BeforeFunction = dict[int, Callable[[object], None]]  # step index -> sees the connection before it runs


@dataclass
class StepState:
    """How far one run of env.py got: whether it reached the steps, how many it applied."""

    started: bool = False
    done: int = 0


class Project:
    def __init__(self, root: Path, alembic_ini: str | None = None, settings: Settings | None = None,
                 metadata_override: str | None = None, driver_override: str | None = None,
                 python: str | None = None, python_source: str = "--python") -> None:
        self.root = root.resolve()
        if not self.root.is_dir():
            raise ProjectError(f"project directory not found: {root}")
        self.settings = settings or load_settings(self.root)
        self.ini_path = locations.find_ini(self.root, alembic_ini, self.settings)
        self.env = ProjectEnvironment(self.root, self.settings)
        ini = locations.read_ini(self.ini_path, self.root, self.settings.ini_section)
        self.env.paths = locations.sys_path(ini, self.root, self.settings)
        # The project's own Python, when it is not the suite's: everything that imports the
        # project's code runs there (checks.project.remote).
        self.process = ProjectProcess(self, python, python_source) \
            if python and not interpreter.is_own(python) else None
        pinned = driver_override or self.settings.driver
        named_as = f"--driver {pinned}" if driver_override else f"{self.settings.source}: driver = {pinned!r}"
        self.drivers = driver.for_config(self.config(), pinned, named_as,
                                         self.process.facts() if self.process is not None else None)
        self.env.driver = self.drivers.project
        self.metadata_override = metadata_override or self.settings.metadata
        self.captured = Captured()
        self._script: ScriptDirectory | None = None
        self.limits: Limits | None = None  # time limits, for throwaway databases (verify) only
        self._flask: flask_app.FlaskApp | None = None
        self._binding: dict[str, bool] = {}  # revision file -> whether its import does migration work

    # --- configuration ---------------------------------------------------------
    def config(self, database: Database | None = None, connection=None) -> Config:
        cfg = locations.read_ini(self.ini_path, self.root, self.settings.ini_section)
        where = locations.script_location(cfg, self.root, self.ini_path, self.settings)
        # Absolute, so that the scripts folder is the same wherever the suite's cwd is.
        cfg.set_main_option("script_location", where.replace("%", "%%"))
        if database is not None:
            # ConfigParser treats % as interpolation; a password may contain one.
            url = self.env.url(database.endpoint, database.name)
            cfg.set_main_option("sqlalchemy.url", url_string(url).replace("%", "%%"))
        if connection is not None:
            cfg.attributes["connection"] = connection
        return cfg

    @property
    def script(self) -> ScriptDirectory:
        if self._script is None and self.process is not None:
            self._script = self._from_process(self.process.history)
        if self._script is None:
            with self.env.active():
                cfg = self.config()
                try:
                    script = ScriptDirectory.from_config(cfg)
                    # Cached by Alembic on first use: resolve it here, in the project's folder.
                    locations.version_locations(script, self.root, self.ini_path, self.settings)
                except ProjectError:
                    raise
                except (CommandError, ImportError) as exc:
                    raise ProjectError(locations.explain_script_error(
                        exc, self.ini_path, cfg.get_main_option("script_location"))) from None
                except Exception as exc:  # noqa: BLE001 - a broken revision file, say
                    raise ProjectError(f"cannot load the migration scripts of {self.ini_path}: "
                                       f"{type(exc).__name__}: {exc}") from None
                self._script = script
        return self._script

    def upgrade_order(self) -> list[Script]:
        """Every revision, parents before children (the order one-at-a-time upgrades take)."""
        if self.process is not None:
            return list(self.script.order)
        with self.env.active():
            try:
                return self.load_revisions()
            except ProjectError:
                raise
            except CommandError as exc:
                raise ProjectError(f"cannot order the revisions: {exc}") from None
            except ImportError as exc:
                # A revision file imports something that is not there.
                raise ProjectError(missing.explain(exc, self)
                                   or f"cannot load a revision file: {type(exc).__name__}: {exc}") from None
            except Exception as exc:  # noqa: BLE001 - raised by a revision file's own code on import
                raise ProjectError(
                    f"cannot load the revision files: {type(exc).__name__}: {first_line(exc, limit=1)}; "
                    "a revision that reads app settings when it is imported needs them in the "
                    "settings' env table ([tool.alembic-preflight.env], see docs/reference/settings.md), "
                    "as env.py does, or the app's context (flask_app, or a runner hook)") from None

    def load_revisions(self) -> list[Script]:
        """The revisions in upgrade order, as Alembic loads them; whatever a revision file
        raises on import is raised here.

        A revision file that fails to import on its own is loaded again inside the project's
        context, as `flask db heads` would load it: it may read the app (`current_app`, the
        app's models) when imported. Not first: an app that migrates the database when it
        is created must only be created where a database is there to migrate (and found out)."""
        order: list[Script] = []

        def load() -> None:
            order[:] = self.script.walk_revisions("base", "heads")

        try:
            load()
        except CommandError:
            raise  # the history itself, not an import
        except Exception:
            if self.settings.runner is None and not self._wants_flask():
                raise
            self.in_context(load)
        return order[::-1]

    def _from_process(self, call: Callable[[], object]) -> object:
        """`call()`'s answer from the project's process; its failure in the words the same
        failure gets when the history is loaded here."""
        try:
            return call()
        except AgentFailure as failure:
            exc = RemoteError(failure.details)
        if exc.type_name == "ProjectFailure":
            error = ProjectError(str(exc))
        elif exc.type_name in ("CommandError", "RevisionError", "MultipleHeads", "CycleDetected",
                               "DependencyCycleDetected", "ResolutionError"):
            error = ProjectError(f"cannot order the revisions: {first_line(exc)}")
        elif exc.type_name in ("ImportError", "ModuleNotFoundError"):
            error = ProjectError(missing.explain(exc, self)
                                        or f"cannot load a revision file: {exc.type_name}: {exc}")
        else:
            error = ProjectError(
                f"cannot load the revision files: {exc.type_name}: {first_line(exc, limit=1)}; "
                "a revision that reads app settings when it is imported needs them in the "
                "settings' env table ([tool.alembic-preflight.env], see docs/reference/settings.md), "
                "as env.py does, or the app's context (flask_app, or a runner hook)")
        raise error

    def in_context(self, call: Callable[[], None]) -> None:
        """`call()` inside the context the project's migration command gives its code: the
        runner hook, or the Flask app's context for an env.py that reads `current_app`.

        The hook goes around Alembic's context, as `flask db` loads the app before Alembic
        starts: an app whose factory runs Alembic itself would otherwise tear ours down.
        The runner is resolved on every call (it is the project's to set up and tear down);
        the Flask app is created once (`flask_app.FlaskApp`)."""
        runner = self.env.hook(self.settings.runner, "runner hook")
        if runner is None and self._flask is None and self._wants_flask():
            self._flask = flask_app.FlaskApp(self.settings.flask_app, self.settings.home())
        if runner is None and self._flask is not None:
            runner = self._flask.run
        if runner is None:
            call()
        else:
            runner(call)

    def _binds_on_import(self, path: str) -> bool:
        if path not in self._binding:
            self._binding[path] = binds_on_import(path)
        return self._binding[path]

    def _wants_flask(self) -> bool:
        return bool(self.settings.flask_app) or flask_app.wants_app(Path(self.script.dir) / "env.py")

    # --- running ----------------------------------------------------------------
    def bootstrap(self, database: Database) -> None:
        if self.settings.bootstrap is not None and self.process is not None:
            url = url_string(database.endpoint.url(database.name, self.drivers.shared))
            self.process.bootstrap(self.settings.bootstrap, url,
                                   self.env.variables(database.endpoint, database.name))
            return
        hook = self.env.hook(self.settings.bootstrap, "bootstrap hook")
        if hook is None:
            return
        engine = create_engine(database.url, poolclass=NullPool)
        try:
            with self.env.active(database.endpoint, database.name), engine.begin() as conn:
                hook(conn)
        except ProjectError:
            raise
        except Exception as exc:  # noqa: BLE001 - the project's hook failed
            raise ProjectError(f"bootstrap hook {self.settings.bootstrap} failed: "
                               f"{type(exc).__name__}: {first_line(exc)}") from None
        finally:
            engine.dispose()

    def drive_steps(self, cfg: Config, revisions: list[Script], upgrade: bool | list[bool], state: StepState,
                    on_step: Callable[[Script, object], None] | None = None,
                    on_start: Callable[[object], None] | None = None, captured: Captured | None = None,
                    database: Database | None = None, replace: StepReplacements | None = None,
                    undone: Callable[[int], bool] | None = None, commit_each: bool = False,
                    **context_options) -> None:
        """Run env.py once with exactly these one-revision steps, online or offline.

        `state` records how far it got, for the caller to explain a failure; `on_start`
        sees the MigrationContext before any step, `on_step` each revision once applied.
        What env.py passes to context.configure goes to `captured` (the project's by default).
        Each revision runs under `self.limits` (on `database`, to see what it waits for).
        `replace` maps a step's index to what wraps its upgrade()/downgrade() function.
        `undone(index)`, asked just before each step, is True where the caller rolled the
        step before it back (to a savepoint it set) and this one, its inverse, is not to run:
        Alembic's heads are put back as they were before that step, and the walk goes on.
        """
        steps = [Step(self.script.revision_map, rev, up)
                 for rev, up in zip(revisions, directions(upgrade, revisions), strict=True)]
        for one in steps:
            if self._binds_on_import(one.revision.path):
                one.migration_fn = imported_in_step(one.revision.path, one.is_upgrade, one.migration_fn)
        for index, wrap in (replace or {}).items():
            steps[index].migration_fn = wrap(steps[index].migration_fn)

        watch = RevisionWatch(self.limits, database, revisions, directions(upgrade, revisions), state)

        def choose_steps(_heads, context):
            if on_start is not None:
                on_start(context)
            state.started = True
            watch.attach(context)
            return steps if undone is None else taken(steps)

        def taken(steps):
            # Alembic asks for each step only once the one before it is done.
            for index, one in enumerate(steps):
                if index and undone(index):
                    steps[index - 1].unbook()
                    with watch.paused():  # its clock starts again on the step after
                        state.done += 1
                    continue
                yield one

        def on_version_apply(ctx, step, heads, run_args):
            revision = revisions[state.done]
            state.done += 1
            with watch.paused():
                if on_step is not None:
                    on_step(revision, ctx)

        def run_env() -> None:
            with EnvironmentContext(cfg, self.script, fn=choose_steps, **context_options), \
                    capture_configure(captured or self.captured, on_version_apply, commit_each):
                self.script.run_env()

        with watch.reporting():
            self.in_context(run_env)

    def run_steps(self, database: Database, revisions: list[Script], upgrade: bool | list[bool],
                  after_step: StepCallback | None = None,
                  before_steps: Callable[[object], None] | None = None,
                  before_function: BeforeFunction | None = None, undone: Callable[[int], bool] | None = None,
                  commit_each: bool = False) -> None:
        """Apply (or revert) exactly these revisions, in order, in one run of env.py.

        `before_steps` sees the connection once env.py has configured it, before the first
        step (env.py may have created the version table's schema by then). With no
        revisions, env.py still runs once: an empty history still tells what it configures.
        `before_function[index]` sees it just before that step's upgrade()/downgrade() runs.
        `commit_each` commits every step as its own `alembic` command would (see
        `capture_configure`), where env.py's transaction would otherwise hold them all.
        """
        state = StepState()
        upward = directions(upgrade, revisions)

        def start(context):
            _require_database(context, database, self.settings.source)
            _require_starting_point(context, revisions, upward, self.settings)
            if commit_each and context.connection is not None:
                # A throwaway database: a commit per step need not wait for the disk (on a
                # --url server with durability on, that wait would be most of a step).
                context.connection.exec_driver_sql("SET synchronous_commit = off")
            if before_steps is not None and context.connection is not None:
                before_steps(context.connection)

        for attempt in (1, 2):
            try:
                if self.process is not None:
                    remote.run_steps(self, database, revisions, upward, state, start, after_step,
                                     before_function or {}, undone, commit_each)
                else:
                    self._run_steps_here(database, revisions, upward, state, start, after_step,
                                         before_function or {}, undone, commit_each)
                break
            except (MigrationError, ProjectError):
                raise
            except CallbackFailed as exc:
                # The suite's own code failed, not the project: a bug, so its traceback is kept.
                raise exc.__cause__ from None
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # noqa: BLE001 - SystemExit from env.py included
                if attempt == 1 and not state.started and _ended_by_the_suite(exc):
                    # An engine the app keeps between runs (Flask-SQLAlchemy's) handed env.py a
                    # connection the suite ended to copy the database; the engine's pool has
                    # let go of it on that error, so the run starts again on a new one.
                    state = StepState()
                    continue
                raise self._translate(exc, state.started, revisions[state.done:],
                                      upward[state.done:]) from None
        if not state.started:
            # Otherwise the stage would judge an untouched database as if it were migrated.
            culprit = (f"the runner hook {self.settings.runner} must call the function it is given"
                       if self.settings.runner else "check the conditions in env.py that skip it")
            raise ProjectError("env.py returned without running any migration "
                               f"(context.run_migrations() was never called); {culprit}")

    def _run_steps_here(self, database: Database, revisions: list[Script], upward: list[bool],
                        state: StepState, start: Callable[[object], None], after_step: StepCallback | None,
                        before_function: BeforeFunction, undone: Callable[[int], bool] | None,
                        commit_each: bool) -> None:
        """run_steps in this process: env.py runs here, the callbacks get its connection.
        Whatever a callback raises is marked as the suite's (`CallbackFailed`)."""
        def checked(call: Callable, *args) -> None:
            try:
                call(*args)
            except Exception as exc:
                raise CallbackFailed from exc

        def checked_step(revision, ctx):
            if after_step is not None:
                checked(after_step, revision, ctx.connection)

        def checked_start(context):
            try:
                start(context)
            except (MigrationError, ProjectError):
                raise
            except Exception as exc:
                raise CallbackFailed from exc

        def calling_first(index: int):
            def wrap(function):
                @functools.wraps(function)  # Alembic names the step after it
                def run(**kwargs):
                    checked(before_function[index], op.get_bind())
                    return function(**kwargs)
                return run
            return wrap

        replace = {index: calling_first(index) for index in before_function}
        shared_url = database.endpoint.url(database.name, self.drivers.shared)
        with self.env.active(database.endpoint, database.name), lent_connection(shared_url) as conn:
            self.drive_steps(self.config(database, conn), revisions, upward, state, checked_step,
                             on_start=checked_start, database=database, replace=replace, undone=undone,
                             commit_each=commit_each)

    def _translate(self, exc: BaseException, started: bool, pending: list[Script],
                   upgrade: list[bool]) -> Exception:
        kind = getattr(exc, "type_name", type(exc).__name__)  # a RemoteError names the project's
        if kind == "ProjectFailure":
            return ProjectError(str(exc))  # the project's process said what to do
        if not started or not pending:
            explained = missing.explain(exc, self)
            if explained:
                return ProjectError(explained)
            where = _project_frame(exc, self.root)
            return ProjectError(
                f"env.py failed before running any migration: {kind}: "
                f"{first_line(exc)}{where}; run `alembic current` in the project to see it, "
                f"and check the suite's settings (sys_path, env, runner){self.env.output.pointer()}")
        revision = pending[0]
        direction = "upgrade" if upgrade[0] else "downgrade"
        said = getattr(exc, "database_error", None)
        db_error = first_line(exc.orig if isinstance(exc, DBAPIError) and exc.orig else
                              Exception(said) if isinstance(said, str) else exc)
        return MigrationError(
            f"{direction} of {revision.revision} ({Path(revision.path).name}) failed: {db_error}",
            revision=revision.revision, path=revision.path,
            db_error=f"{kind}: {db_error}", line=traceback_line(exc, revision.path))

    # --- reading state -------------------------------------------------------------
    def current_heads(self, database: Database) -> set[str]:
        """The revisions recorded in the version table, read with SQL, not command output."""
        engine = create_engine(database.url, poolclass=NullPool)
        schema = self.captured.options.get("version_table_schema")
        table = f'"{self.captured.version_table}"'
        if schema:
            table = f'"{schema}".{table}'
        try:
            with engine.connect() as conn:
                return {row[0] for row in conn.execute(text(f"SELECT version_num FROM {table}"))}
        finally:
            engine.dispose()

    def has_metadata(self) -> bool:
        """Whether the models are known at all (an `alembic init` project has none yet)."""
        return bool(self.metadata_override) or self.captured.target_metadata is not None

    def target_metadata(self) -> list:
        """The MetaData objects the models describe: --metadata, or what env.py passed."""
        if self.metadata_override:
            found = self.env.resolve(self.metadata_override, "--metadata")
        else:
            for module in self.settings.metadata_modules:
                self.env.resolve(f"{module}:__name__", "metadata module")
            found = self.captured.target_metadata
        items = list(found) if isinstance(found, list | tuple) else [found] if found is not None else []
        if not items:
            raise ProjectError(self.no_metadata())
        return items

    def no_metadata(self) -> str:
        """Why drift cannot run without models, and how a project without any leaves it out."""
        return (f"{NO_METADATA} (a project with no models, raw SQL only, leaves drift out: stages = "
                f'["files", "heads", "fresh", "roundtrip", "lint"] in {self.settings.home()})')


def capture_configure(captured: Captured, on_version_apply: Callable, commit_each: bool = False):
    """Record what env.py passes to context.configure into `captured` and add our per-step
    callback (`projectside.run.capture_configure`)."""
    return configure_hook(lambda options: setattr(captured, "options", dict(options)), on_version_apply,
                          commit_each)


def _ended_by_the_suite(exc: BaseException) -> bool:
    """Whether env.py failed on a session the server had ended (as the suite ends its own
    role's sessions on a database it copies or drops): SQLAlchemy took it for a disconnect,
    or the driver said so (psycopg 3 quotes the server, psycopg2 only sees it gone)."""
    details = getattr(exc, "details", None) or {}
    if getattr(exc, "connection_invalidated", False) or details.get("invalidated"):
        return True
    said = str(getattr(exc, "database_error", None) or "") + str(exc)
    return any(words in said for words in ("terminating connection due to administrator command",
                                           "server closed the connection unexpectedly"))


def _require_database(context, database: Database, source: str) -> None:
    """Refuse to migrate anything but the throwaway database the suite handed over.

    An env.py that builds its URL from app settings the suite does not know about would
    otherwise migrate (and downgrade) whatever database those settings name (another
    dialect's is refused as env.py configures it: `projectside.run.capture_configure`).
    """
    connection = context.connection
    if connection is None:
        return
    row = connection.exec_driver_sql("SELECT current_database(), inet_server_port()").first()
    if row and row[0] != database.name:
        port = f" on port {row[1]}" if row[1] else ""
        raise ProjectError(
            f"env.py connected to database {row[0]!r}{port}, not the throwaway database "
            f"{database.name!r} it was given; nothing was run there. Point env.py's URL at the "
            "suite's server: map the app's settings in [tool.alembic-preflight] env, e.g. "
            'env = { POSTGRES_SERVER = "{host}", POSTGRES_PORT = "{port}", POSTGRES_DB = "{database}" }'
            f" (settings read from {source})")


def _require_starting_point(context, revisions: list[Script], upward: list[bool], settings: Settings) -> None:
    """A history applied from base must find an empty version table.

    Anything else means something migrated the database before the first step: an app
    whose factory calls `flask_migrate.upgrade()`, or a start-up hook that migrates.
    """
    if not revisions or not upward[0] or revisions[0]._all_down_revisions or context.connection is None:
        return
    found = context.get_current_heads()
    if found:
        culprit = (f"the runner hook {settings.runner}" if settings.runner else
                   f"the Flask app ({settings.flask_app})" if settings.flask_app else "the app env.py loads")
        raise ProjectError(
            f"the database already records revision {', '.join(found)} before the first revision ran: "
            f"something migrated it before the suite did ({culprit} runs Alembic when it starts, "
            "e.g. create_app() calling flask_migrate.upgrade()); point flask_app or the runner hook "
            "at an app that does not migrate on start")


def directions(upgrade: bool | list[bool], revisions: list[Script]) -> list[bool]:
    """One direction per step: the same for all, or each step's own (a round trip's staircase)."""
    return list(upgrade) if isinstance(upgrade, list) else [upgrade] * len(revisions)


def first_line(exc: BaseException, limit: int = 3) -> str:
    """The gist of an error: its first few lines, joined (pydantic names the field on line 2),
    with no memory address in it (a message must read the same in every run)."""
    text = _ADDRESS.sub("", str(exc).strip())
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    if _VALIDATION.match(lines[0]):
        # pydantic: the header, then per error its field (not indented) and what is wrong
        # with it; every field named, not only the first.
        fields = [line.strip() for line in text.splitlines()[1:] if line.strip() and not line[0].isspace()]
        return f"{lines[0]}: {', '.join(fields)} | {' | '.join(lines[1:limit])}"[:400]
    return " | ".join(lines[:limit])[:400]


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_VALIDATION = re.compile(r"^\d+ validation errors? for ")


def _project_frame(exc: BaseException, root: Path) -> str:
    """' (env.py line 12)' for the innermost frame inside the project, if any."""
    where = missing.project_frame(exc, root)
    return f" ({where})" if where else ""
