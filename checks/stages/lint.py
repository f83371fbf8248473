"""lint: risky operations in each revision, read offline, before they reach production."""

from __future__ import annotations

from checks.lint.select import pull_request_summary, revisions_to_lint
from checks.lint.settings import parse_lint_settings
from checks.measure.grounded import ground
from checks.pullrequest.scope import select_new
from checks.result import Finding, StageResult
from checks.run import Run


def check(run: Run) -> list[Finding]:
    """Without it, a DROP COLUMN, a table rewrite or an ALTER queued behind a long query is
    found by the application in production; a downgrade of `pass` passes every other check."""
    settings = parse_lint_settings(run.project.settings.lint, run.project.settings.source)
    selection, new = _selected(run, settings)
    run.summaries["lint"] = selection.summary() if run.scope is None else pull_request_summary(new, run.scope)
    from checks.lint.lint import lint_project

    return lint_project(run.project, settings, strict=run.strict, endpoint=run.server.endpoint,
                        only={script.revision for script in new}, from_base=run.scope is not None)


def _selected(run: Run, settings) -> tuple:
    selection = revisions_to_lint(run.project.upgrade_order(), run.project.script.dir,
                                  lint_all=run.lint_all or settings.all)
    # A pull request's run narrows it to the revisions the pull request adds, read as the
    # deploy runs them: `alembic upgrade` on a database at the base, so the base's own SQL
    # (and the transaction state it leaves on a fresh server) is not theirs.
    return selection, select_new(selection.revisions, run.scope)


def grounded(run: Run, result: StageResult, results: list[StageResult]) -> StageResult:
    """The lint stage's result checked against what the fresh stage measured in this run
    (checks.measure.grounded), on the revisions lint read."""
    fresh = next((r for r in results if r.name == "fresh"), None)
    if fresh is None or not fresh.deploy_risk:
        return result
    settings = parse_lint_settings(run.project.settings.lint, run.project.settings.source)
    _, new = _selected(run, settings)
    return ground(result, fresh, run.server.version, {script.revision for script in new})
