"""fresh: every revision applies, one at a time, to an empty database."""

from __future__ import annotations

from pathlib import Path

from checks.measure import findings as measured
from checks.measure.risk import revision_risks
from checks.project.source_lines import def_line
from checks.pullrequest.scope import base_findings
from checks.result import Finding, Severity
from checks.run import Run
from checks.schema.incremental import OFF_ENV


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
    findings = base_findings(run.scope) + snapshot_notes(run, build) + deploy_risk(run, build)
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


def deploy_risk(run: Run, build) -> list[Finding]:
    """A deploy waits on each lock a revision takes on a table that existed before it: ACCESS
    EXCLUSIVE stops every read and write of the table, SHARE and stronger every write, for
    as long as the revision's transaction lasts, and a rewrite or a full scan under it lasts
    as long as the table is large. The fresh build measured them (the `measure` setting)."""
    if not build.measured:
        return []
    risks = revision_risks(run, build)
    scripts = {revision.revision: revision for revision in build.walked}

    def where(revision: str) -> tuple[str | None, int | None]:
        script = scripts.get(revision)
        return (script.path, def_line(script.path, "upgrade")) if script is not None else (None, None)

    found = measured.warnings(risks, where)
    run.deploy_risk["fresh"] = [risk.to_json() for risk in risks]
    run.summaries["fresh"] = measured.summary(risks, found)
    note = measured.hidden_note(risks)
    return found + ([note] if note else [])


def snapshot_notes(run: Run, build) -> list[Finding]:
    """How the schema was recorded, when it was not the usual way."""
    notes = []
    if build.snapshot_mismatch:
        head = build.order[-1].revision if build.order else None
        notes.append(mismatch_note(build.snapshot_mismatch, head))
    if run.tracking_refused:
        notes.append(Finding(
            Severity.INFO, "full-snapshots",
            "the server's role is not a superuser, so DDL cannot be tracked with event triggers: "
            "every snapshot reads the whole schema (correct, but slower on long histories)",
            hint="use the local or compose backend, or a superuser in --url, for faster runs"))
    return notes


def mismatch_note(mismatch: str, revision: str | None, where: str = "at head") -> Finding:
    """An incremental snapshot a full one contradicted, after walking up to `revision`."""
    return Finding(
        Severity.ERROR, "snapshot-mismatch",
        f"{where}, {mismatch}; the round trip compared full snapshots instead of trusting it",
        revision=revision,
        hint="a bug in alembic-preflight, not in the project: please report it with the revision that "
             f"touches the object named; {OFF_ENV}=1 works around it")
