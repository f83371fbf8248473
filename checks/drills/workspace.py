"""A drill's throwaway database, reached the way the recovery tasks reach a real one.

The drills call the very functions behind `invoke upgrade`, `stamp`, `backup` and
`restore` (checks.recovery), so each gets a `Target` for its database, as the tasks
build one from --url.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from alembic.script import Script

from checks.project.project import Database
from checks.recovery import revisions
from checks.recovery.target import Target
from checks.result import Finding, Severity
from checks.run import Run
from harness.url import UrlServer


@dataclass
class Workspace:
    run: Run
    database: Database
    target: Target

    @property
    def version_table(self) -> str:
        return self.run.version_table

    def connect(self):
        return self.run.server.connect(self.database.name)


def target_for(run: Run, name: str) -> Target:
    return Target(UrlServer(run.server.url(name).render_as_string(hide_password=False)))


@contextlib.contextmanager
def at_head(run: Run, purpose: str) -> Iterator[Workspace]:
    """A clone of the run's migrated database (already at head)."""
    with run.work_database(purpose, template=run.build().database) as db:
        yield Workspace(run, db, target_for(run, db.name))


@contextlib.contextmanager
def at_revision(run: Run, purpose: str, revision: Script | None) -> Iterator[Workspace]:
    """A new database upgraded from empty up to `revision` (None: nothing applied)."""
    with run.work_database(purpose) as db:
        run.project.bootstrap(db)
        space = Workspace(run, db, target_for(run, db.name))
        if revision is not None:
            revisions.upgrade(run.project, space.target, revision.revision)
        yield space


def passed(drill: str, message: str) -> Finding:
    return Finding(Severity.INFO, f"drill-{drill}", f"{drill} drill: {message}")
