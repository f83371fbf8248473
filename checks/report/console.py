"""The console report: a line per stage, and under a stage that did not pass, its findings."""

from __future__ import annotations

from typing import TextIO

from checks.measure.table import lines as deploy_risk_lines
from checks.result import Finding, Severity, StageResult, Status
from harness.errors import mask_passwords

NAME_WIDTH = 11  # the longest stage name (merge-order), so that the times line up

MARKS = {Status.PASS: "✓", Status.WARN: "⚠", Status.FAIL: "✗", Status.ERROR: "✗", Status.SKIP: "-"}
SEVERITY_MARKS = {Severity.ERROR: "✗", Severity.WARNING: "⚠", Severity.INFO: "·"}


def _finding_lines(finding: Finding) -> list[str]:
    where = []
    if finding.revision:
        where.append(f"revision {finding.revision}")
    if finding.object and finding.object not in finding.message:
        where.append(finding.object)
    suffix = f"  [{'; '.join(where)}]" if where else ""
    lines = [f"      {SEVERITY_MARKS[finding.severity]} {finding.code}: {finding.message}{suffix}"]
    if finding.hint:
        lines.append(f"        fix: {finding.hint}")
    return lines


def stage_lines(result: StageResult, verbose: bool = False) -> list[str]:
    status = "" if result.status is Status.PASS else f"  {result.status.value}"
    lines = [f"  {MARKS[result.status]} {result.name:<{NAME_WIDTH}} {result.duration_s:6.2f}s{status}"]
    if result.summary:
        lines.append(f"      {result.summary}")
    if result.status is not Status.PASS or verbose:
        for finding in result.findings:
            lines += _finding_lines(finding)
    if verbose and result.deploy_risk is not None:
        lines += deploy_risk_lines(result.deploy_risk)
    return lines


def print_stage(result: StageResult, stream: TextIO, verbose: bool = False) -> None:
    _write(stream, stage_lines(result, verbose))


def print_scope(scope, stream: TextIO) -> None:
    """A pull-request run's last words on what it did not judge: the base, and how it got there."""
    trust = scope.trust
    if trust is not None:
        _write(stream, [f"  pull request: {trust.sentence()}", *(f"  warning: {w}" for w in trust.warnings)])


def _write(stream: TextIO, lines: list[str]) -> None:
    # The one place the console writes findings: an exception's text (a crashed stage, a
    # server's error) may carry a URL with its password, as the other reports' text may.
    stream.write(mask_passwords("\n".join(lines) + "\n"))
    stream.flush()
