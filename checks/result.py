"""The one result type every stage returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class Status(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"
    SKIP = "skip"


@dataclass
class Finding:
    """One thing a stage found: what, where (revision, object) and how to fix it."""

    severity: Severity
    code: str
    message: str
    revision: str | None = None
    object: str | None = None
    hint: str | None = None
    # Where to look: the revision file (relative to the project root when inside it) and
    # the line of the operation, function or assignment the finding is about.
    file: str | None = None
    line: int | None = None

    def to_json(self) -> dict:
        data = asdict(self)
        data["severity"] = self.severity.value
        return data


@dataclass
class StageResult:
    name: str
    status: Status
    findings: list[Finding] = field(default_factory=list)
    duration_s: float = 0.0
    summary: str | None = None  # what the stage covered, when that is not everything (lint)
    # The fresh stage's measurements, per revision (checks.measure.risk.RevisionRisk.to_json).
    deploy_risk: list[dict] | None = None
    # The rehearse stage's timings at the declared volumes (checks.rehearse.results.Results.to_json).
    rehearsal: dict | None = None

    @classmethod
    def from_findings(cls, name: str, findings: list[Finding], duration_s: float,
                      summary: str | None = None, deploy_risk: list[dict] | None = None,
                      rehearsal: dict | None = None) -> StageResult:
        severities = {f.severity for f in findings}
        if Severity.ERROR in severities:
            status = Status.FAIL
        elif Severity.WARNING in severities:
            status = Status.WARN
        else:
            status = Status.PASS
        return cls(name, status, findings, duration_s, summary, deploy_risk, rehearsal)

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "status": self.status.value,
            "duration_s": round(self.duration_s, 3),
            "findings": [f.to_json() for f in self.findings],
        } | ({"summary": self.summary} if self.summary else {}) | (
            {"deploy_risk": self.deploy_risk} if self.deploy_risk is not None else {}) | (
            {"rehearsal": self.rehearsal} if self.rehearsal is not None else {})


def overall_status(results: list[StageResult]) -> Status:
    statuses = {r.status for r in results}
    for status in (Status.ERROR, Status.FAIL, Status.WARN):
        if status in statuses:
            return status
    return Status.PASS
