"""The JSON report: the same results, for CI dashboards and other tools."""

from __future__ import annotations

import json
from pathlib import Path

from checks.errors import ConfigError
from checks.result import StageResult, overall_status
from harness.errors import mask_passwords


def build_report(project: str, backend: str, postgres_version: str | None,
                 results: list[StageResult], server: str | None = None) -> dict:
    return {
        "project": project,
        "backend": backend,
        "postgres_version": postgres_version,
        "server": server,
        "status": overall_status(results).value,
        "stages": [r.to_json() for r in results],
    }


def write_report(path: Path, report: dict) -> None:
    text = mask_passwords(json.dumps(report, indent=2, ensure_ascii=False))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    except OSError as exc:
        raise ConfigError(f"cannot write the JSON report to {path}: {exc.strerror}") from None
