"""GitHub Actions: annotations on the pull request's diff, and the job's Markdown summary.

Workflow commands (`::error file=...,line=...::message`) printed to stdout put a finding on
the very line of the changed file; the summary file ($GITHUB_STEP_SUMMARY) is shown on the
run's page. Both only when GITHUB_ACTIONS=true: elsewhere they would be noise.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO

from checks.measure.findings import LOCK, REWRITE, SCAN
from checks.result import Finding, Severity, StageResult, Status, overall_status
from harness.errors import mask_passwords

_COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning"}
_ICONS = {Status.PASS: "✅", Status.WARN: "⚠️", Status.FAIL: "❌", Status.ERROR: "❌", Status.SKIP: "⏭️"}
TOP = 10
DEPLOY_RISK = (LOCK, REWRITE, SCAN)


def in_actions(env=os.environ) -> bool:
    return env.get("GITHUB_ACTIONS") == "true"


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _repo_path(project: str, file: str, workspace: str) -> str:
    """Annotations name files relative to the repository root (the workspace)."""
    path = Path(project, file).resolve()
    try:
        return path.relative_to(Path(workspace).resolve()).as_posix()
    except ValueError:
        return os.path.relpath(path, Path(workspace).resolve())


def _command(finding: Finding) -> str | None:
    """Errors and warnings; of the notes, only the measured locks a lock_timeout bounds: a
    reviewer of the revision still wants to see what it locks."""
    if finding.severity is Severity.INFO and finding.code in DEPLOY_RISK:
        return "notice"
    return _COMMANDS.get(finding.severity)


def annotations(results: list[StageResult], project: str, workspace: str) -> list[str]:
    """A workflow command per finding on a file, on its line: the operation, or for what
    the fresh build measured, the revision's upgrade(); a measured lock names its table."""
    lines = []
    for result in results:
        for finding in result.findings:
            command = _command(finding)
            if command is None or not finding.file or result.status is Status.SKIP:
                continue
            title = f"alembic-preflight {result.name}: {finding.code}"
            if finding.code in DEPLOY_RISK and finding.object:
                title += f" on {finding.object}"
            props = {"file": _repo_path(project, finding.file, workspace), "line": str(finding.line or 1),
                     "title": title}
            message = finding.message + (f"\nfix: {finding.hint}" if finding.hint else "")
            rendered = ",".join(f"{key}={escape_property(value)}" for key, value in props.items())
            lines.append(mask_passwords(f"::{command} {rendered}::{escape_data(message)}"))
    return lines


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def summary(results: list[StageResult], project: str, error: str | None = None) -> str:
    status = "error" if error else overall_status(results).value
    lines = [f"## alembic-preflight: {status.upper()}", "", f"Project: `{project}`", ""]
    if error:
        lines += [f"> The run ended early: {_cell(error)}", ""]
    lines += ["| Stage | Status | Errors | Warnings | Time |", "|---|---|---:|---:|---:|"]
    for r in results:
        errors = sum(f.severity is Severity.ERROR for f in r.findings)
        warnings = sum(f.severity is Severity.WARNING for f in r.findings)
        lines.append(f"| {r.name} | {_ICONS[r.status]} {r.status.value} | {errors} | {warnings} "
                     f"| {r.duration_s:.2f}s |")
    ranked = [(r, f) for r in results if r.status is not Status.SKIP for f in r.findings
              if f.severity in _COMMANDS]
    ranked.sort(key=lambda pair: pair[1].severity is not Severity.ERROR)
    if ranked:
        lines += ["", f"### Top findings ({min(len(ranked), TOP)} of {len(ranked)})", ""]
        for result, finding in ranked[:TOP]:
            where = f" (`{finding.file}:{finding.line or 1}`)" if finding.file else ""
            lines.append(f"- **{finding.severity.value}** {result.name} `{finding.code}`{where}: "
                         f"{_cell(finding.message)}")
    return mask_passwords("\n".join(lines) + "\n")


def report_github(results: list[StageResult], project: str, error: str | None, stream: TextIO,
                  env=os.environ) -> None:
    workspace = env.get("GITHUB_WORKSPACE") or os.getcwd()
    for line in annotations(results, project, workspace):
        stream.write(line + "\n")
    stream.flush()
    target = env.get("GITHUB_STEP_SUMMARY")
    if target:
        try:
            with open(target, "a", encoding="utf-8") as handle:
                handle.write(summary(results, project, error))
        except OSError as exc:
            # The verdict matters more than its summary: say so and go on.
            stream.write("::warning title=alembic-preflight::cannot write the step summary: "
                         f"{exc.strerror}\n")
