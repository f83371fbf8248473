"""Paths and a CLI runner shared by the tests (imported by name, unlike conftest)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXAMPLE = ROOT / "example"
# The bundled example's models are SQLAlchemy 2 code (DeclarativeBase); the compat session runs 1.4.
needs_example = pytest.mark.skipif(int(sqlalchemy.__version__.split(".")[0]) < 2,
                                   reason="the bundled example needs SQLAlchemy 2")


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str
    report: dict | None

    def stage(self, name: str) -> dict:
        assert self.report is not None, f"no JSON report; stderr: {self.stderr}"
        for stage in self.report["stages"]:
            if stage["name"] == name:
                return stage
        raise AssertionError(f"stage {name} not in report: {[s['name'] for s in self.report['stages']]}")

    def findings(self, stage: str, code: str | None = None) -> list[dict]:
        found = self.stage(stage)["findings"]
        return [f for f in found if code is None or f["code"] == code]


def run_cli(*args: str, url: str | None = None, report: Path | None = None, env: dict | None = None,
            timeout: float = 300) -> CliResult:
    """Run `python -m checks ...` in a subprocess, as a user would."""
    cmd = [sys.executable, "-m", "checks", *args]
    if url and "--url" not in args and "--backend" not in args:
        cmd += ["--url", url]
    if report is not None:
        report.unlink(missing_ok=True)  # a run that writes none must not show the last one's
        cmd += ["--report-json", str(report)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=timeout,
                          env={**os.environ, **(env or {})})
    data = json.loads(report.read_text()) if report is not None and report.exists() else None
    return CliResult(proc.returncode, proc.stdout, proc.stderr, data)


def verify_before_a_server(project: Path, *args: str, env: dict | None = None) -> CliResult:
    """verify with the url backend and no --url, which fails only once a server is opened:
    a run that ends on another error ended before any server was started or reached."""
    result = run_cli("verify", "--project", str(project), "--backend", "url", "--quiet-progress", *args,
                     env=env)
    assert "server:" not in result.stdout, result.stdout
    assert "--backend url needs --url" not in result.stderr, result.stderr
    return result


def without_git(tmp_path: Path) -> dict:
    """An environment whose PATH holds no git (nor anything else)."""
    empty = tmp_path / "no-git-on-path"
    empty.mkdir(exist_ok=True)
    return {"PATH": str(empty)}
