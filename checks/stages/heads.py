"""heads: the history has exactly one head, or heads kept apart by design."""

from __future__ import annotations

from pathlib import Path

from checks.project.policies import labelled_heads
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
    labelled = labelled_heads(run.project.settings, heads)  # a declared label that is not there: an error
    if len(heads) == 1:
        return []
    if labelled is not None:
        # Shown with the passing stage, as what it judged: deploys run `alembic upgrade heads`.
        own, policy = labelled
        named = ", ".join(f"{own[h.revision]}@head = {h.revision} ({Path(h.path).name})" for h in heads)
        run.summaries["heads"] = (f"{len(heads)} heads by design, each on a branch of its own "
                                  f"({policy.how}): {named}")
        return []
    names = ", ".join(f"{h.revision} ({Path(h.path).name})" for h in heads)
    ids = " ".join(h.revision for h in heads)
    return [Finding(Severity.ERROR, "multiple-heads",
                    f"{len(heads)} heads: {names}", revision=heads[0].revision,
                    object=ids, hint=f"merge them: alembic merge -m 'merge heads' {ids}; or, if they are "
                                     "apart by design (expand/contract), give each its own branch_labels")]
