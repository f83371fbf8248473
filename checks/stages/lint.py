"""lint: risky operations in each revision, read offline, before they reach production."""

from __future__ import annotations

from checks.lint import lint_project, parse_lint_settings
from checks.pullrequest.scope import select_new
from checks.result import Finding
from checks.run import Run


def check(run: Run) -> list[Finding]:
    """Without it, a DROP COLUMN, a table rewrite or an ALTER queued behind a long query is
    found by the application in production; a downgrade of `pass` passes every other check."""
    settings = parse_lint_settings(run.project.settings.lint, run.project.settings.source)
    return lint_project(run.project, settings, strict=run.strict, endpoint=run.server.endpoint,
                        select=lambda order: select_new(order, run.scope))
