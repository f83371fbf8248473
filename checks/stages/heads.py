"""heads: the history has exactly one head."""

from __future__ import annotations

from pathlib import Path

from checks.result import Finding, Severity
from checks.run import Run


def check(run: Run) -> list[Finding]:
    """Two heads after a merge make `alembic upgrade head` refuse to run in production,
    and deployments that say `upgrade heads` apply the branches in an unplanned order."""
    script = run.project.script
    with run.project.env.active():
        heads = list(script.get_revisions("heads"))
    if not heads:
        return [Finding(Severity.INFO, "no-revisions", "the migration history has no revisions",
                        hint="create the first one: alembic revision --autogenerate -m 'initial schema'")]
    if len(heads) == 1:
        return []
    names = ", ".join(f"{h.revision} ({Path(h.path).name})" for h in heads)
    ids = " ".join(h.revision for h in heads)
    return [Finding(Severity.ERROR, "multiple-heads",
                    f"{len(heads)} heads: {names}", revision=heads[0].revision,
                    object=ids, hint=f"merge them: alembic merge -m 'merge heads' {ids}")]
