"""One verification run: the project, the server, and what stages share.

The expensive part of most stages is the same: the migrations applied to an empty
database one revision at a time, with the schema recorded after each one. `Run.build`
does that once; later stages clone the migrated database (CREATE DATABASE ... TEMPLATE)
and reuse the recorded schemas instead of replaying history.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from alembic.script import Script

from checks.errors import MigrationError
from checks.progress import Progress
from checks.project.project import Database, Project
from checks.schema import Snapshot
from checks.schema_access import snapshot_of
from harness.server import Server


@dataclass
class Build:
    """The outcome of applying every revision to an empty database."""

    order: list[Script]
    database: str | None = None  # the migrated database, usable as a template
    before: dict[str, Snapshot] = field(default_factory=dict)  # schema just before each revision
    head: Snapshot | None = None
    error: MigrationError | None = None
    duration_s: float = 0.0


class Run:
    def __init__(self, project: Project, server: Server, progress: Progress | None = None,
                 strict: bool = False) -> None:
        self.project = project
        self.strict = strict  # lint warnings count as failures
        self.server = server
        self.progress = progress or Progress(enabled=False)
        self._build: Build | None = None

    def database(self, purpose: str, template: str | None = None) -> Database:
        return Database(self.server.endpoint, self.server.create_database(purpose, template))

    @property
    def version_table(self) -> str:
        return self.project.captured.version_table

    def snapshot(self, connection) -> Snapshot:
        return snapshot_of(connection, self.version_table)

    def build(self) -> Build:
        """Apply every revision from base to head on a fresh database, once per run."""
        if self._build is not None:
            return self._build
        started = time.monotonic()
        order = self.project.upgrade_order()
        build = Build(order)
        db = self.database("fresh")
        self.project.bootstrap(db)
        with self.server.connect(db.name) as conn:
            previous = snapshot_of(conn, self.version_table)
        total = len(order)

        def record(revision: Script, connection) -> None:
            nonlocal previous
            build.before[revision.revision] = previous
            previous = self.snapshot(connection)
            self.progress.step("fresh", len(build.before), total, revision.revision)

        try:
            self.project.run_steps(db, order, upgrade=True, after_step=record)
        except MigrationError as exc:
            build.error = exc
        else:
            build.database = db.name
            build.head = previous
        build.duration_s = time.monotonic() - started
        self._build = build
        return build
