"""One verification run: the project, the server, and what stages share.

The expensive part of most stages is the same: the migrations applied to an empty
database one revision at a time, with the schema recorded after each one. `Run.build`
does that once; later stages clone the migrated database (CREATE DATABASE ... TEMPLATE)
and reuse the recorded schemas instead of replaying history.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg
from alembic.script import Script
from psycopg import sql

from checks.errors import ConfigError, MigrationError, ProjectError
from checks.progress import Progress
from checks.project.project import Database, Project, first_line
from checks.pullrequest.base import apply_base
from checks.schema import Snapshot
from checks.schema_access import snapshot_of
from harness.privileges import cannot_create_extension
from harness.server import Server


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
        self.usage_errors: list[Exception] = []  # configuration problems met inside stages
        self.summaries: dict[str, str] = {}  # a stage's one line on what it covered, by stage name
        # Only the round trip compares against the schema before each revision; without
        # it, one snapshot at head is enough.
        self.snapshot_every_step = True
        self.scope = None  # a pullrequest.scope.Scope: judge only the revisions a change adds
        # Every database env.py sees in this run has this one name (renamed away after
        # use), so app settings read once at import stay right for the whole run.
        self.work_name = server.new_database_name("work")
        project.env.default_database = (server.endpoint, self.work_name)

    def database(self, purpose: str, template: str | None = None) -> Database:
        name = self.server.create_database(purpose, template)
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
        name = self.server.create_database("work", template, name=self.work_name)
        if template is None:
            self._add_extensions(name)
        holder = Database(self.server.endpoint, name)
        try:
            yield holder
        finally:
            holder.name = self.server.rename_database(name, purpose)

    @property
    def version_table(self) -> str:
        return self.project.captured.version_table

    def snapshot(self, connection) -> Snapshot:
        return snapshot_of(connection, self.version_table)

    def build(self) -> Build:
        """Apply every revision from base to head on a fresh database, once per run."""
        if self._build is not None:
            return self._build
        if self._build_failure is not None:
            raise self._build_failure  # the project cannot run at all; every stage says so
        started = time.monotonic()
        order = self.project.upgrade_order()
        build = Build(order, walked=order)
        try:
            with self.work_database("fresh") as db:
                if self.scope is None:
                    self.project.bootstrap(db)
                else:
                    apply_base(self, build, db)
                if build.error is None:
                    self._apply_history(build, db)
        except ProjectError as exc:
            self._build_failure = exc
            raise
        if build.error is None:
            build.database = db.name
        build.duration_s = time.monotonic() - started
        self._build = build
        return build

    def _apply_history(self, build: Build, db: Database) -> None:
        order = build.walked
        previous = None
        total = len(order)
        applied = 0

        def start(connection) -> None:
            # Taken inside env.py's run: what env.py sets up before any revision (the version
            # table's schema, say) is part of the base every downgrade must return to.
            nonlocal previous
            if self.snapshot_every_step:
                previous = self.snapshot(connection)

        def record(revision: Script, connection) -> None:
            nonlocal previous, applied
            applied += 1
            if self.snapshot_every_step:
                build.before[revision.revision] = previous
                previous = build.after[revision.revision] = self.snapshot(connection)
            self.progress.step("fresh", applied, total, revision.revision)

        try:
            self.project.run_steps(db, order, upgrade=True, after_step=record, before_steps=start)
        except MigrationError as exc:
            build.error = exc
            return
        if order and not self.committed(db):
            last = order[-1]
            build.error = MigrationError(
                "env.py ran the revisions but committed nothing", revision=last.revision, path=last.path,
                db_error="env.py ran every revision, but after it returned the database holds none of "
                         "it (no version row): its connection's transaction was never committed; with "
                         "SQLAlchemy 2, open the connection before any other statement and run the "
                         "migrations inside context.begin_transaction(), or call connection.commit()")
            return
        if not self.snapshot_every_step:
            with self.server.connect(db.name) as conn:
                previous = snapshot_of(conn, self.version_table)
        build.head = previous

    def committed(self, db: Database) -> bool:
        """Whether another session sees the version table env.py wrote."""
        try:
            return bool(self.project.current_heads(db))
        except Exception:  # noqa: BLE001 - no version table at all: nothing was committed
            return False
