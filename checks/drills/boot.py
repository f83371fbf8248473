"""One application instance booting, as a forked copy of this process.

The startup drill forks several at once (forked, so none pays the imports again). Each
waits for the same signal, then runs `upgrade heads` as `alembic upgrade` does: the path
is worked out inside env.py's run, after whatever lock env.py takes.
"""

from __future__ import annotations

import time
from pathlib import Path

from alembic.runtime.environment import EnvironmentContext

from checks.project.output import ProjectOutput
from checks.project.project import Captured, Database, Project, capture_configure
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
    go.wait(WAIT_S)
    try:
        with _lingering(), project.env.active(database.endpoint, database.name), \
                lent_connection(url) as conn:
            _upgrade_heads(project, project.config(database, conn))
    except BaseException as exc:  # noqa: BLE001 - whatever the boot died of is the drill's finding
        text = str(exc).strip()
        results.put({"ok": False, "error": f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"})
        return
    results.put({"ok": True})


def _upgrade_heads(project: Project, config) -> None:
    """`alembic upgrade heads`, over the project's scripts as the suite resolved them (the
    version_locations setting included), not a fresh read of alembic.ini."""
    script = project.script

    def upgrade(rev, _context):
        return script._upgrade_revs("heads", rev)

    with EnvironmentContext(config, script, fn=upgrade, as_sql=False, destination_rev="heads"):
        script.run_env()


def _lingering():
    """Pause after the first revision env.py applies (this process only: it is a fork)."""
    paused = []

    def linger(**_kwargs) -> None:
        if not paused:
            paused.append(True)
            time.sleep(LINGER_S)

    # The same hook the suite's own runs use; what env.py configured is not needed here.
    return capture_configure(Captured(), linger)
