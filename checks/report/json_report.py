"""The JSON report: the same results, for CI dashboards and other tools."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from checks.errors import ConfigError
from checks.result import StageResult, overall_status
from checks.version import VERSION
from harness.errors import mask_passwords


@dataclass
class Outcome:
    """What a run got to before it ended, however it ended: enough for a report."""

    project: str
    backend: str | None = None
    version: str | None = None
    server: str | None = None
    results: list[StageResult] = field(default_factory=list)
    error: str | None = None  # why the run ended before its stages could report
    graph: list = field(default_factory=list)  # the revision graph (report.graph.Node), for drawings
    scope: object | None = None  # a pull-request run's pullrequest.scope.Scope


def build_report(project: str, backend: str | None, postgres_version: str | None,
                 results: list[StageResult], server: str | None = None, error: str | None = None,
                 scope: dict | None = None) -> dict:
    """`scope`: a pull-request run's new revisions and what it trusted from the cache."""
    report = {
        "alembic_preflight": VERSION,  # which suite judged: findings change between versions
        "project": project,
        "backend": backend,
        "postgres_version": postgres_version,
        "server": server,
        "status": "error" if error else overall_status(results).value,
        "error": error,
        "stages": [r.to_json() for r in results],
    }
    if scope is not None:
        report["pull_request"] = scope
    return report


def forget_report(path: Path, kind: str = "JSON") -> None:
    """Remove an earlier run's report before this run starts."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot replace the {kind} report at {path}: {exc.strerror}") from None


def write_report(path: Path, report: dict) -> None:
    text = mask_passwords(json.dumps(report, indent=2, ensure_ascii=False))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    except OSError as exc:
        raise ConfigError(f"cannot write the JSON report to {path}: {exc.strerror}") from None
