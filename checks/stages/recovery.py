"""recovery: the documented emergency procedures, rehearsed on throwaway databases.

Each drill in checks/drills/ seeds rows, breaks a database the way it breaks in real
life, repairs it with the same functions the invoke tasks run, and checks the repair
worked and kept every row.
"""

from __future__ import annotations

from checks import drills
from checks.result import Finding
from checks.run import Run
from checks.stages.skips import skipped_for_build


def check(run: Run) -> list[Finding]:
    """A runbook step first tried during an outage is a guess: a stamp that skips a revision,
    a backup that does not restore, an upgrade that only fails on rows."""
    build = run.build()
    if build.error is not None:
        return skipped_for_build(build)
    findings: list[Finding] = []
    for drill in drills.DRILLS.values():
        findings += drill(run)
    return findings
