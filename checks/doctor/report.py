"""Doctor's answers as ✓/⚠/✗ lines, and its JSON (the suite's report shape, plus the database)."""

from __future__ import annotations

from typing import TextIO

from checks.report.console import MARKS, SEVERITY_MARKS
from checks.result import Finding, Severity, StageResult, Status


def section_lines(result: StageResult) -> list[str]:
    lines = [f"  {MARKS[result.status]} {result.name}"]
    for finding in result.findings:
        mark = "✓" if finding.severity is Severity.INFO and result.status is Status.PASS \
            else SEVERITY_MARKS[finding.severity]
        lines.append(f"      {mark} {finding.message}")
        if finding.hint:
            lines.append(f"        fix: {finding.hint}")
    return lines


def print_section(result: StageResult, stream: TextIO) -> None:
    stream.write("\n".join(section_lines(result)) + "\n")
    stream.flush()


def problems(results: list[StageResult]) -> list[Finding]:
    return [f for r in results for f in r.findings if f.severity is not Severity.INFO]


def verdict(results: list[StageResult]) -> str:
    sick = [r.name for r in results if any(f.severity is not Severity.INFO for f in r.findings)]
    if not sick:
        return "doctor: healthy"
    return f"doctor: problems found in {', '.join(sick)}"


def doctor_report(base: dict, database: str, source: str) -> dict:
    return {**base, "database": database, "database_source": source}
