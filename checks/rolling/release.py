"""The releases whose ORM statements are replayed: the previous one, read from git, and this one.

The previous release's tree is opened from git as a project of its own (`pullrequest.oldtree`),
whose code runs only in a process of the project's Python: its models never meet this
release's in one interpreter, nor the suite's.
"""

from __future__ import annotations

from checks.errors import ProjectError
from checks.project.agent import AgentFailure
from checks.project.project import Database, Project
from checks.pullrequest.oldtree import Unloadable

OPTION = "--previous-release"


def statements(project: Project, database: Database, previous: bool) -> list[dict]:
    """What the project's models send per table (`projectside.rolling`), their target_metadata
    being what env.py passes once it has run on `database` (already migrated)."""
    where = {"metadata": project.metadata_override, "modules": list(project.settings.metadata_modules)}
    if project.process is None:
        from projectside.rolling import statements as compiled

        with project.env.active():
            return compiled(project.target_metadata())
    try:
        if previous:
            project.run_steps(database, [], upgrade=True)  # env.py's run names target_metadata
        return project.process.request("models_statements", **where)
    except ProjectError as exc:
        if previous:
            raise Unloadable(str(exc)) from None
        raise
    except AgentFailure as failure:
        said = f"its models cannot be read: {failure.details.get('message')}"
        raise Unloadable(said) if previous else ProjectError(f"the project's {said}") from None
