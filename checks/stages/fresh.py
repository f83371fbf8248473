"""fresh: every revision applies, one at a time, to an empty database."""

from __future__ import annotations

from pathlib import Path

from checks.project.source_lines import def_line
from checks.pullrequest.scope import base_findings
from checks.result import Finding, Severity
from checks.run import Run


def check(run: Run) -> list[Finding]:
    """A local database is dirty: tables made by hand or by deleted migrations hide a
    history that cannot build the schema. Only an empty database proves the files suffice."""
    build = run.build()
    if build.error is not None:
        err = build.error
        return [Finding(Severity.ERROR, "upgrade-failed",
                        f"upgrade of {err.revision} ({Path(err.path).name}) failed on an empty "
                        f"database: {err.db_error}",
                        revision=err.revision, object=err.path, file=err.path,
                        line=err.line or def_line(err.path, "upgrade"),
                        hint=err.hint or "fix the revision so it runs on an empty database; if it "
                             "relies on tables made outside migrations, create them in an earlier "
                             "revision (or configure a bootstrap hook)")]
    findings = base_findings(run.scope)
    tables = set(build.head.tables) if build.head else set()
    for wanted in run.project.settings.critical_tables:
        # Snapshots name tables in the public schema without a prefix.
        if wanted.removeprefix("public.") not in tables:
            findings.append(Finding(
                Severity.ERROR, "critical-table-missing",
                f"critical table {wanted} does not exist after upgrading an empty database to head",
                object=wanted, revision=build.order[-1].revision if build.order else None,
                hint=f"add a revision with op.create_table('{wanted.split('.')[-1]}', ...) "
                     "(alembic revision --autogenerate)"))
    return findings
