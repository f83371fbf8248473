"""One application instance booting, as a forked copy of this process.

The startup drill forks several at once (forked, so none pays the imports again). Each
waits for the same signal, then runs `upgrade heads` as `alembic upgrade` does: the path
is worked out inside env.py's run, after whatever lock env.py takes.
"""

from __future__ import annotations

from pathlib import Path

from checks.project.agent import AgentFailure
from checks.project.environment import url_string
from checks.project.output import ProjectOutput
from checks.project.project import Database, Project
from projectside.boot import upgrade_heads
from projectside.connection import lent_connection

WAIT_S = 60.0
# How long an instance holds its first revision uncommitted: long enough that every other
# instance, started together, has begun its own upgrade by then, so an unserialized
# project races every time rather than when the scheduler happens to interleave them.
LINGER_S = 0.5


def boot(project: Project, database: Database, log_folder: Path, go, results) -> None:
    """Report {"ok": bool, "error": str} on `results` once the upgrade ends."""
    project.env.output = ProjectOutput(log_folder)  # never the run's own log, shared after a fork
    url = database.endpoint.url(database.name, project.drivers.shared)
    if project.process is not None:
        project.process.agent  # noqa: B018 - started before the signal: the instances race the upgrade
    go.wait(WAIT_S)
    try:
        if project.process is not None:
            project.process.request("upgrade_heads", url=url_string(url), linger_s=LINGER_S,
                                    variables=project.env.variables(database.endpoint, database.name))
        else:
            with project.env.active(database.endpoint, database.name), lent_connection(url) as conn:
                upgrade_heads(project.script, project.config(database, conn), LINGER_S)
    except AgentFailure as failure:
        results.put({"ok": False, "error": f"{failure.type}: {_gist(failure.details.get('message'))}"})
        return
    except BaseException as exc:  # noqa: BLE001 - whatever the boot died of is the drill's finding
        results.put({"ok": False, "error": f"{type(exc).__name__}: {_gist(str(exc))}"})
        return
    results.put({"ok": True})


def _gist(text: str | None) -> str:
    text = (text or "").strip()
    return text.splitlines()[0] if text else ""
