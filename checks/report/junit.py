"""The JUnit XML report: every CI shows it as tests, so "roundtrip[3f1c2a]" fails by name.

One test case per stage per revision checked (the stages that walk the history revision by
revision list every revision, passing ones too), and one for the stage itself when it has
findings about no revision or no case of its own. Errors fail a case; warnings are printed
in its output, as JUnit has no warnings; only a lock held while a table is rewritten or
scanned (checks.measure.findings.JUNIT_FAILURES), or one that rehearse finds held past
max_lock_ms at the declared volume, fails its case as a warning.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from checks.errors import ConfigError
from checks.measure.findings import JUNIT_FAILURES
from checks.rehearse.findings import LONG_LOCK
from checks.result import Finding, Severity, StageResult, Status
from checks.version import VERSION
from harness.errors import mask_passwords

# Stages that judge each revision on its own: a clean revision is a passing test.
PER_REVISION = ("fresh", "roundtrip", "lint")

FAILING = (*JUNIT_FAILURES, LONG_LOCK)


def finding_text(finding: Finding) -> str:
    lines = [f"{finding.severity.value} {finding.code}: {finding.message}"]
    if finding.file:
        lines.append(f"  at {finding.file}:{finding.line or 1}")
    if finding.hint:
        lines.append(f"  fix: {finding.hint}")
    return "\n".join(lines)


def _cases(result: StageResult, revisions: list[str]) -> list[tuple[str, list[Finding]]]:
    by_revision: dict[str, list[Finding]] = {}
    loose: list[Finding] = []
    for finding in result.findings:
        if finding.revision and result.status is not Status.SKIP:
            by_revision.setdefault(finding.revision, []).append(finding)
        else:
            loose.append(finding)
    names = list(revisions) if result.name in PER_REVISION and result.status is not Status.SKIP else []
    names += [r for r in by_revision if r not in names]
    cases = [(f"{result.name}[{r}]", by_revision.get(r, [])) for r in names]
    if loose or not cases:
        cases.append((result.name, loose))
    return cases


def build_junit(results: list[StageResult], revisions: list[str], error: str | None = None,
                project: str = "") -> ET.Element:
    suites = ET.Element("testsuites", name="alembic-preflight")
    suite = ET.SubElement(suites, "testsuite", name="alembic-preflight")
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", name="alembic-preflight", value=VERSION)
    if project:
        ET.SubElement(properties, "property", name="project", value=project)
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for result in results:
        cases = _cases(result, revisions)
        for name, findings in cases:
            case = ET.SubElement(suite, "testcase", classname=f"alembic-preflight.{result.name}", name=name,
                                 time=f"{result.duration_s / len(cases):.3f}")
            counts["tests"] += 1
            errors = [f for f in findings if f.severity is Severity.ERROR or f.code in FAILING]
            if result.status is Status.SKIP:
                ET.SubElement(case, "skipped", message=findings[0].message if findings else "skipped")
                counts["skipped"] += 1
            elif errors:
                kind = "error" if result.status is Status.ERROR else "failure"
                element = ET.SubElement(case, kind, message=errors[0].message, type=errors[0].code)
                element.text = "\n\n".join(finding_text(f) for f in errors)
                counts["failures" if kind == "failure" else "errors"] += 1
            rest = [f for f in findings if f not in errors]
            if rest and result.status is not Status.SKIP:
                ET.SubElement(case, "system-out").text = "\n\n".join(finding_text(f) for f in rest)
    if error:
        # The run ended before its stages could say everything: CI must not show green.
        case = ET.SubElement(suite, "testcase", classname="alembic-preflight", name="verify", time="0")
        ET.SubElement(case, "error", message=error, type="run-error").text = error
        counts["tests"] += 1
        counts["errors"] += 1
    total = sum(r.duration_s for r in results)
    for element in (suite, suites):
        for key, value in counts.items():
            element.set(key, str(value))
        element.set("time", f"{total:.3f}")
    return suites


def write_junit(path: Path, results: list[StageResult], revisions: list[str], error: str | None = None,
                project: str = "") -> None:
    tree = ET.ElementTree(build_junit(results, revisions, error, project))
    ET.indent(tree)
    text = mask_passwords(ET.tostring(tree.getroot(), encoding="unicode"))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('<?xml version="1.0" encoding="utf-8"?>\n' + text + "\n", encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write the JUnit report to {path}: {exc.strerror}") from None
